"""Evaluation: datasets, metrics, concurrent resumable runs, reports, and trace views."""

from promptlab.eval.api import EvalProgress, EvalRun, default_out_dir, evaluate, run_eval
from promptlab.eval.checkpoint import Checkpoint, EvalConfig, ItemResult, load_config, load_results
from promptlab.eval.datasets import Dataset, DatasetInfo, DatasetItem, dataset_names, load_dataset, shipped_data_dir
from promptlab.eval.harness import EvalOutcome, RunnerLike, arun_evaluation, run_evaluation
from promptlab.eval.metrics import Score, exact_match, f1_score, normalize_qa, numeric_match, score, stated_number
from promptlab.eval.report import EvalSummary, summarize, write_report
from promptlab.eval.strategies import STRATEGIES, build_runner
from promptlab.eval.trace_view import render_trace, trace_html, traces_page

__all__ = [
    "STRATEGIES",
    "Checkpoint",
    "Dataset",
    "DatasetInfo",
    "DatasetItem",
    "EvalConfig",
    "EvalOutcome",
    "EvalProgress",
    "EvalRun",
    "EvalSummary",
    "ItemResult",
    "RunnerLike",
    "Score",
    "arun_evaluation",
    "build_runner",
    "dataset_names",
    "default_out_dir",
    "evaluate",
    "exact_match",
    "f1_score",
    "load_config",
    "load_dataset",
    "load_results",
    "normalize_qa",
    "numeric_match",
    "render_trace",
    "run_eval",
    "run_evaluation",
    "score",
    "shipped_data_dir",
    "stated_number",
    "summarize",
    "trace_html",
    "traces_page",
    "write_report",
]
