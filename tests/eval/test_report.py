import re
from pathlib import Path

from promptlab.backends import MockBackend
from promptlab.eval._svg import bar_chart, histogram
from promptlab.eval.checkpoint import Checkpoint
from promptlab.eval.datasets import Dataset
from promptlab.eval.harness import run_evaluation
from promptlab.eval.report import summarize, write_report

from .conftest import EchoRunner, addition, config_for


def _evaluate(data: Dataset, out: Path, strategy: str = "echo", responder=addition) -> Path:  # type: ignore[no-untyped-def]
    with Checkpoint.open(out, config_for(data, strategy)) as checkpoint:
        run_evaluation(data, EchoRunner(MockBackend(default=responder)), checkpoint)
    return out


def test_report_of_one_evaluation(sums: Dataset, tmp_path: Path) -> None:
    out = _evaluate(sums, tmp_path / "run")
    summary = summarize(out)
    assert summary.count == 10 and summary.accuracy == 0.9
    markdown, page = write_report([out], out)
    md = markdown.read_text()
    assert "| 90.0% |" in md
    assert re.search(r"\| s7 \| What is 7 \+ 7\? \| 14 \| 15 \| ok \|", md)
    doc = page.read_text()
    assert doc.startswith("<!DOCTYPE html>") and "90.0%" in doc
    assert doc.count("<svg") == 3  # accuracy, latency and token charts
    assert "What is 7 + 7?" in doc and "step 0 · generate" in doc  # the failure, with its trace
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", doc), "the page must load nothing from outside"


def test_report_comparing_two_evaluations(sums: Dataset, tmp_path: Path) -> None:
    good = _evaluate(sums, tmp_path / "good", "good")
    bad = _evaluate(sums, tmp_path / "bad", "bad", responder=lambda prompt: "no idea")
    markdown, page = write_report([good, bad], tmp_path / "cmp")
    md = markdown.read_text()
    assert "| good | sums | good | mock |" in md and "| bad | sums | bad | mock |" in md
    assert "| 0.0% |" in md and "| 90.0% |" in md
    doc = page.read_text()
    assert "good · sums · mock" in doc and "bad · sums · mock" in doc
    assert doc.count("<details><summary>") >= 11  # 1 + 10 failures, each with a trace


def test_histogram_and_bars_are_valid_svg() -> None:
    hist = histogram([0.1, 0.2, 0.2, 0.9], title="Latency", unit=" s")
    assert hist.startswith("<svg") and hist.endswith("</svg>")
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', hist)]
    assert max(heights) > 0 and len(heights) >= 2
    assert "no data" in histogram([], title="empty")
    assert "one &lt;b&gt;" in bar_chart(["one <b>"], [0.5], title="t") and "50.0%" in bar_chart(["x"], [0.5], title="t")
    assert "<rect" in histogram([3.0, 3.0], title="same")


def test_report_shows_confidence_intervals_and_compares_common_items(sums: Dataset, tmp_path: Path) -> None:
    good = _evaluate(sums, tmp_path / "good", "good")
    partial = tmp_path / "partial"
    with Checkpoint.open(partial, config_for(sums, "partial")) as checkpoint:
        run_evaluation(sums, EchoRunner(MockBackend(default=addition)), checkpoint, limit=4)
    md = write_report([good, partial], tmp_path / "all")[0].read_text()
    assert "| 10 | 90.0% | 59.6% - 98.2% |" in md  # 9 of 10: Wilson's 95% interval
    assert "| 95% CI | F1 | samples / item | tokens / item | s / item |" in md
    common = write_report([good, partial], tmp_path / "common", common=True)[0].read_text()
    rows = [line for line in common.splitlines() if line.startswith(("| good |", "| partial |"))]
    assert len(rows) == 2 and all("| 4 |" in row for row in rows)
