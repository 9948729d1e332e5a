"""Evaluation: datasets, metrics, concurrent resumable runs, reports, and trace views."""

from promptlab.eval.checkpoint import Checkpoint, EvalConfig, ItemResult, load_config, load_results
from promptlab.eval.datasets import Dataset, DatasetItem, dataset_names, find_data_dir, load_dataset
from promptlab.eval.harness import EvalOutcome, RunnerLike, arun_evaluation, run_evaluation
from promptlab.eval.metrics import Score, exact_match, f1_score, normalize_qa, numeric_match, score, stated_number
from promptlab.eval.report import EvalSummary, summarize, write_report
from promptlab.eval.strategies import STRATEGIES, build_runner
from promptlab.eval.trace_view import render_trace, trace_html, traces_page

__all__ = [
    "STRATEGIES",
    "Checkpoint",
    "Dataset",
    "DatasetItem",
    "EvalConfig",
    "EvalOutcome",
    "EvalSummary",
    "ItemResult",
    "RunnerLike",
    "Score",
    "arun_evaluation",
    "build_runner",
    "dataset_names",
    "exact_match",
    "f1_score",
    "find_data_dir",
    "load_config",
    "load_dataset",
    "load_results",
    "normalize_qa",
    "numeric_match",
    "render_trace",
    "run_evaluation",
    "score",
    "stated_number",
    "summarize",
    "trace_html",
    "traces_page",
    "write_report",
]
