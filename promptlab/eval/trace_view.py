"""Readable views of traces: rich renderables for the terminal, self-contained HTML pages.

Prompts of multi-step runners grow by appending to the previous prompt; both views show
only what is new in each prompt and keep the rest a click (HTML) or ``full=True`` away.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from promptlab.tracing import Step, Trace

__all__ = [
    "PAGE_CSS",
    "PROMPT_TAIL",
    "PromptView",
    "html_page",
    "prompt_views",
    "render_trace",
    "trace_html",
    "traces_page",
]

PROMPT_TAIL = 400
"""Characters of a fresh prompt shown by default: its end, where the question is, from a line start."""


@dataclass(frozen=True)
class PromptView:
    """The part of a step's prompt worth showing, and how much was left out before it."""

    shown: str
    hidden: int
    continues: bool
    """True when the prompt is the previous prompt plus completion plus new text."""


def prompt_views(trace: Trace, tail: int = PROMPT_TAIL) -> dict[int, PromptView]:
    """For each step with a prompt: only the text that the reader has not seen yet."""
    views: dict[int, PromptView] = {}
    seen = ""
    for step in trace.steps:
        if step.prompt is None:
            continue
        prompt = step.prompt
        if seen and prompt.startswith(seen):
            views[step.index] = PromptView(prompt[len(seen):], len(seen), continues=True)
        else:
            hidden = max(0, len(prompt) - tail)
            newline = prompt.find("\n", hidden - 1) if hidden else -1
            if 0 <= newline - hidden < tail // 2:  # start at a line start when one is near
                hidden = newline + 1
            views[step.index] = PromptView(prompt[hidden:], hidden, continues=False)
        seen = prompt + (step.completion or "")
    return views


def _step_stats(step: Step) -> str:
    parts = [f"{step.latency_s * 1000:.0f} ms"] if step.latency_s else []
    if step.prompt_tokens or step.completion_tokens:
        cached = f", {step.cached_prompt_tokens} cached" if step.cached_prompt_tokens else ""
        parts.append(f"{step.prompt_tokens} prompt{cached} + {step.completion_tokens} completion tokens")
    return " · ".join(parts)


def _summary(trace: Trace) -> list[tuple[str, str]]:
    return [
        ("strategy", trace.strategy),
        ("question", trace.question),
        ("answer", "(none)" if trace.answer is None else trace.answer),
        ("status", trace.status),
        ("steps", str(len(trace.steps))),
        ("tokens", f"{trace.prompt_tokens} prompt + {trace.completion_tokens} completion"),
        ("latency", f"{trace.latency_s:.3f} s"),
        *((str(k), v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str))
          for k, v in trace.metadata.items()),
    ]


# ------------------------------------------------------------------------------ terminal
def render_trace(trace: Trace, *, full: bool = False) -> RenderableType:
    """A rich renderable of one trace: a summary table, then one panel per step."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan")
    table.add_column()
    for key, value in _summary(trace):
        table.add_row(key, Text(value))
    views = prompt_views(trace)
    panels: list[RenderableType] = [table]
    for step in trace.steps:
        body: list[RenderableType] = []
        if step.prompt is not None:
            body.append(_prompt_text(step.prompt if full else None, views[step.index]))
        for label, value, style in _step_fields(step):
            body.append(Text.assemble((f"{label}: ", f"bold {style}"), value))
        title = f"step {step.index} · {step.kind}"
        stats = _step_stats(step)
        border = "red" if step.kind == "error" else "blue"
        panels.append(Panel(Group(*body) if body else Text("(empty)", style="dim"), title=title,
                            subtitle=stats or None, title_align="left", subtitle_align="right",
                            border_style=border))
    return Group(*panels)


def _prompt_text(full_prompt: str | None, view: PromptView) -> Text:
    text = Text("prompt: ", style="bold magenta")
    if full_prompt is not None:
        return text.append(full_prompt, style="dim")
    if view.hidden:
        what = "of the previous prompt and completion" if view.continues else "earlier"
        text.append(f"[{view.hidden:,} chars {what} hidden; --full shows them]\n", style="italic dim")
    return text.append(view.shown, style="dim")


def _step_fields(step: Step) -> list[tuple[str, str, str]]:
    fields: list[tuple[str, str, str]] = []
    if step.completion is not None:
        fields.append(("completion", step.completion, "green"))
    if step.action is not None:
        fields.append(("action", json.dumps(step.action, ensure_ascii=False, default=str), "yellow"))
    if step.observation is not None:
        fields.append(("observation", step.observation, "cyan"))
    if step.data:
        fields.append(("data", json.dumps(step.data, ensure_ascii=False, default=str), "white"))
    return fields


# ------------------------------------------------------------------------------ HTML
PAGE_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0 auto;max-width:1100px;padding:1.5em;
color:#1f2328;background:#fff}
h1,h2,h3{line-height:1.2}h1{font-size:1.6em}h2{font-size:1.3em;margin-top:1.6em}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;
vertical-align:top}th{background:#f6f8fa}
.trace{border:1px solid #d0d7de;border-radius:8px;padding:.2em 1em 1em;margin:1em 0}
.step{border-left:4px solid #0969da;margin:.8em 0;padding:.2em .8em;background:#f6f8fa;border-radius:4px}
.step.error{border-color:#cf222e}.stats{color:#57606a;font-size:.9em}
pre{white-space:pre-wrap;word-break:break-word;margin:.2em 0;padding:.4em .6em;background:#fff;
border:1px solid #d8dee4;border-radius:4px;font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
.label{font-weight:600;font-size:.85em;text-transform:uppercase;letter-spacing:.03em;color:#57606a}
.completion pre{border-color:#1a7f37}.observation pre{border-color:#0550ae}.action pre{border-color:#9a6700}
.ok{color:#1a7f37}.bad{color:#cf222e}.dim{color:#57606a}summary{cursor:pointer}svg{max-width:100%}
""".strip()


def html_page(title: str, body: str) -> str:
    """A complete, self-contained HTML document (inline CSS, no external requests)."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{PAGE_CSS}</style></head>\n"
            f"<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")


def trace_html(trace: Trace, *, heading: str | None = None) -> str:
    """One trace as an HTML fragment (a summary table and one block per step)."""
    esc = html.escape
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in _summary(trace))
    parts = ['<section class="trace">', f"<h3>{esc(heading)}</h3>" if heading else "", f"<table>{rows}</table>"]
    views = prompt_views(trace)
    for step in trace.steps:
        css = "step error" if step.kind == "error" else "step"
        parts.append(f'<div class="{css}"><div><b>step {step.index} · {esc(step.kind)}</b> '
                     f'<span class="stats">{esc(_step_stats(step))}</span></div>')
        if step.prompt is not None:
            parts.append(_prompt_html(step.prompt, views[step.index]))
        for label, value, _ in _step_fields(step):
            parts.append(f'<div class="{label}"><span class="label">{label}</span><pre>{esc(value)}</pre></div>')
        parts.append("</div>")
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def _prompt_html(prompt: str, view: PromptView) -> str:
    esc = html.escape
    note = ""
    if view.hidden:
        what = "of the previous prompt and completion" if view.continues else "earlier"
        note = f'<span class="dim">({view.hidden:,} chars {what} not shown here)</span>'
    return (f'<div class="prompt"><span class="label">prompt</span> {note}<pre>{esc(view.shown)}</pre>'
            f"<details><summary>full prompt ({len(prompt):,} chars)</summary><pre>{esc(prompt)}</pre>"
            f"</details></div>")


def traces_page(traces: Iterable[Trace], title: str) -> str:
    """A self-contained HTML page showing every trace."""
    items = list(traces)
    body = "\n".join(trace_html(t, heading=f"trace {i + 1} of {len(items)}") for i, t in enumerate(items))
    return html_page(title, body or "<p>No traces.</p>")
