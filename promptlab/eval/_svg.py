"""Small inline SVG charts (bar chart, histogram) for self-contained HTML reports."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

_FONT = 'font-family="system-ui,sans-serif" font-size="12"'
_BAR = "#0969da"


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str, maximum: float = 1.0,
              percent: bool = True, width: int = 640) -> str:
    """Horizontal bars, one per label; values run from 0 to ``maximum``."""
    label_w, row_h, top = 260, 26, 28
    height = top + row_h * len(labels) + 8
    plot_w = width - label_w - 70
    parts = [_open(width, height, title), f'<text x="4" y="16" {_FONT} font-weight="600">{_esc(title)}</text>']
    for row, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + row * row_h
        bar_w = 0.0 if maximum <= 0 else max(0.0, min(value / maximum, 1.0)) * plot_w
        shown = f"{value:.1%}" if percent else f"{value:g}"
        parts += [
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" {_FONT}>{_esc(_clip(label, 42))}</text>',
            f'<rect x="{label_w}" y="{y + 4}" width="{plot_w}" height="{row_h - 8}" fill="#eaeef2"/>',
            f'<rect x="{label_w}" y="{y + 4}" width="{bar_w:.1f}" height="{row_h - 8}" fill="{_BAR}"/>',
            f'<text x="{label_w + plot_w + 6}" y="{y + 16}" {_FONT}>{shown}</text>',
        ]
    return "".join([*parts, "</svg>"])


def histogram(values: Sequence[float], *, title: str, unit: str = "", bins: int = 20, width: int = 640) -> str:
    """A histogram of ``values`` with labelled axes; empty input gives a note instead of bars."""
    height, left, bottom, top = 220, 44, 36, 26
    plot_w, plot_h = width - left - 12, height - top - bottom
    parts = [_open(width, height, title), f'<text x="4" y="16" {_FONT} font-weight="600">{_esc(title)}</text>']
    if not values:
        parts.append(f'<text x="{left}" y="{top + 20}" {_FONT}>no data</text>')
        return "".join([*parts, "</svg>"])
    low, high = min(values), max(values)
    span = high - low or 1.0
    bins = max(1, min(bins, len(set(values)) if high > low else 1))
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / span * bins), bins - 1)] += 1
    peak = max(counts)
    bar_w = plot_w / bins
    for index, count in enumerate(counts):
        h = count / peak * plot_h
        x, y = left + index * bar_w, top + plot_h - h
        start, end = low + span * index / bins, low + span * (index + 1) / bins
        parts.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" height="{h:.1f}" '
                     f'fill="{_BAR}"><title>{_num(start)}-{_num(end)}{unit}: {count}</title></rect>')
    axis_y = top + plot_h
    parts += [
        f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#57606a"/>',
        f'<text x="{left}" y="{axis_y + 16}" {_FONT}>{_num(low)}{_esc(unit)}</text>',
        f'<text x="{left + plot_w}" y="{axis_y + 16}" text-anchor="end" {_FONT}>{_num(high)}{_esc(unit)}</text>',
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" {_FONT}>{peak}</text>',
        f'<text x="{left - 6}" y="{axis_y}" text-anchor="end" {_FONT}>0</text>',
        f'<text x="{left + plot_w / 2:.0f}" y="{axis_y + 30}" text-anchor="middle" {_FONT} fill="#57606a">'
        f"{len(values)} items</text>",
    ]
    return "".join([*parts, "</svg>"])


def _open(width: int, height: int, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{_esc(title)}">')


def _num(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)
