"""Evaluation reports: ``report.md`` and a self-contained ``report.html`` for one or more eval directories.

The HTML page has inline SVG plots (accuracy per evaluation, latency and token
histograms) and every failed item with its trace; nothing is loaded from the network.
"""

from __future__ import annotations

import html
import json
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from promptlab.eval._svg import bar_chart, histogram
from promptlab.eval.checkpoint import TRACES_FILE, EvalConfig, ItemResult, load_config, load_results
from promptlab.eval.metrics import wilson_interval
from promptlab.eval.trace_view import html_page, trace_html
from promptlab.tracing import Trace, read_traces, valid_utf8

__all__ = [
    "MAX_FAILURES",
    "MAX_FAILURES_MD",
    "EvalSummary",
    "render_html",
    "render_markdown",
    "summarize",
    "write_report",
]

MAX_FAILURES = 50
"""Failed items shown with their traces per evaluation in the HTML page."""
MAX_FAILURES_MD = 200
"""Failed items listed per evaluation in the Markdown report (results.jsonl has them all)."""


@dataclass(frozen=True)
class EvalSummary:
    """The numbers of one evaluation directory."""

    directory: Path
    config: EvalConfig
    results: list[ItemResult]

    @property
    def label(self) -> str:
        return f"{self.config.strategy} · {self.config.dataset} · {self.config.backend}"

    @property
    def count(self) -> int:
        return len(self.results)

    @property
    def accuracy(self) -> float:
        return sum(r.correct for r in self.results) / self.count if self.results else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        """The 95% Wilson interval of the accuracy."""
        return wilson_interval(sum(r.correct for r in self.results), self.count)

    @property
    def mean_samples(self) -> float:
        """Samples drawn per item (self-consistency; adaptive runs stop early)."""
        return statistics.fmean(r.samples for r in self.results) if self.results else 0.0

    @property
    def mean_f1(self) -> float | None:
        scores = [r.f1 for r in self.results if r.f1 is not None]
        return statistics.fmean(scores) if scores else None

    @property
    def statuses(self) -> Counter[str]:
        return Counter(r.status for r in self.results)

    @property
    def latencies(self) -> list[float]:
        return [r.latency_s for r in self.results]

    @property
    def tokens(self) -> list[float]:
        return [float(r.prompt_tokens + r.completion_tokens) for r in self.results]

    @property
    def failures(self) -> list[ItemResult]:
        return [r for r in self.results if not r.correct]


def summarize(directory: str | Path) -> EvalSummary:
    """Read an evaluation directory's config and results."""
    path = Path(directory)
    return EvalSummary(directory=path, config=load_config(path), results=load_results(path))


def common_items(summaries: Sequence[EvalSummary]) -> list[EvalSummary]:
    """The summaries restricted to the items every one of them has (runs stopped early compare fairly)."""
    shared = set.intersection(*({r.id for r in s.results} for s in summaries)) if summaries else set()
    return [EvalSummary(s.directory, s.config, [r for r in s.results if r.id in shared]) for s in summaries]


def write_report(directories: Sequence[str | Path], output: str | Path, *, common: bool = False
                 ) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` for these evaluations into ``output``; returns both paths.
    ``common``: score every evaluation on the items they all have."""
    summaries = [summarize(d) for d in directories]
    if common:
        summaries = common_items(summaries)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    markdown, page = out / "report.md", out / "report.html"
    markdown.write_text(valid_utf8(render_markdown(summaries)), encoding="utf-8")
    page.write_text(valid_utf8(render_html(summaries)), encoding="utf-8")
    return markdown, page


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _rows(summaries: Sequence[EvalSummary]) -> tuple[list[str], list[list[str]]]:
    header = ["evaluation", "dataset", "strategy", "backend", "n", "options", "items", "accuracy", "95% CI", "F1",
              "samples / item", "tokens / item", "s / item", "latency p50 / p95 (s)", "statuses"]
    rows = []
    for s in summaries:
        f1 = "-" if s.mean_f1 is None else f"{s.mean_f1:.3f}"
        tokens = f"{statistics.fmean(s.tokens):.0f}" if s.tokens else "-"
        seconds = f"{statistics.fmean(s.latencies):.2f}" if s.latencies else "-"
        low, high = s.interval
        statuses = ", ".join(f"{k} {v}" for k, v in s.statuses.most_common())
        options = ", ".join(f"{key}={json.dumps(value)}" for key, value in s.config.options.items()) or "-"
        rows.append([s.directory.name, s.config.dataset, s.config.strategy, s.config.backend, str(s.config.n),
                     options, _items(s), f"{s.accuracy:.1%}", f"{low:.1%} - {high:.1%}", f1, f"{s.mean_samples:.2f}",
                     tokens, seconds, f"{_percentile(s.latencies, 0.5):.2f} / {_percentile(s.latencies, 0.95):.2f}",
                     statuses or "-"])
    return header, rows


def _items(summary: EvalSummary) -> str:
    """How many items, and the seed of their random order when they ran shuffled (a random sample)."""
    seed = summary.config.shuffle
    return str(summary.count) + ("" if seed is None else f" (shuffled, seed {seed})")


def render_markdown(summaries: Sequence[EvalSummary]) -> str:
    """The Markdown report: a summary table, then each evaluation's failures.

    Model text is escaped: no raw HTML from a completion reaches a Markdown renderer.
    """
    def cell(text: str) -> str:
        return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")

    header, rows = _rows(summaries)
    lines = ["# Evaluation report", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    for s in summaries:
        lines += ["", f"## {s.label}", "", f"{s.count} items, {len(s.failures)} failed. "
                  f"Traces: `{s.directory / TRACES_FILE}` (`promptlab trace show FILE`).", ""]
        if len(s.failures) > MAX_FAILURES_MD:
            lines += [f"The first {MAX_FAILURES_MD} failures; `{s.directory / 'results.jsonl'}` has all.", ""]
        if s.failures:
            lines += ["| id | question | reference | prediction | status |", "|---|---|---|---|---|"]
            lines += [f"| {cell(r.id)} | {cell(_clip(r.question, 90))} | {cell(r.reference)} | "
                      f"{cell('' if r.prediction is None else _clip(r.prediction, 60))} | "
                      f"{cell(_why(r))} |"
                      for r in s.failures[:MAX_FAILURES_MD]]
    return "\n".join(lines) + "\n"


def render_html(summaries: Sequence[EvalSummary]) -> str:
    """The HTML report: summary table, plots, and the failures with their traces."""
    esc = html.escape
    header, rows = _rows(summaries)
    table = ("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"
             + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows) + "</table>")
    body = [table, bar_chart([s.label for s in summaries], [s.accuracy for s in summaries],
                             title="Accuracy per evaluation")]
    for s in summaries:
        body += [f"<h2>{esc(s.label)}</h2>",
                 f"<p>{s.count} items from <code>{esc(s.config.dataset_path)}</code>, "
                 f"accuracy <b>{s.accuracy:.1%}</b>, {len(s.failures)} failed.</p>",
                 histogram(s.latencies, title="Latency per item", unit=" s"),
                 histogram(s.tokens, title="Tokens per item (prompt + completion)")]
        body.append(_failures_html(s))
    return html_page("Evaluation report", "\n".join(body))


def _failures_html(summary: EvalSummary) -> str:
    esc = html.escape
    if not summary.failures:
        return "<p class=\"ok\">No failures.</p>"
    traces = _traces_by_item(summary.directory)
    shown = summary.failures[:MAX_FAILURES]
    parts = [f"<h3>Failures ({len(summary.failures)})</h3>"]
    if len(summary.failures) > len(shown):
        parts.append(f"<p class=\"dim\">Showing the first {len(shown)}; results.jsonl has all.</p>")
    for r in shown:
        prediction = "(no answer)" if r.prediction is None else r.prediction
        detail = f" · {r.error or r.detail}" if r.error or r.detail else ""
        trace = traces.get(r.id)
        parts.append(f"<details><summary><b>{esc(r.id)}</b> {esc(_clip(r.question, 100))} "
                     f"<span class=\"bad\">predicted {esc(_clip(prediction, 40))}</span>, "
                     f"expected {esc(r.reference)} <span class=\"dim\">({esc(r.status + detail)})</span></summary>"
                     + (trace_html(trace) if trace else "<p class=\"dim\">no trace recorded</p>") + "</details>")
    return "\n".join(parts)


def _traces_by_item(directory: Path) -> dict[str, Trace]:
    path = directory / TRACES_FILE
    if not path.exists():
        return {}
    try:
        traces = read_traces(path)
    except (ValueError, KeyError, TypeError):  # a damaged trace file costs the report its traces, nothing more
        return {}
    return {str(t.metadata.get("item_id")): t for t in traces if "item_id" in t.metadata}


def _why(result: ItemResult) -> str:
    """The status, with the error or the runner's explanation when there is one."""
    reason = result.error or result.detail
    return result.status if reason is None else f"{result.status}: {_clip(reason, 60)}"


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
