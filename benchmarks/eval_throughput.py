"""Evaluation throughput at concurrency 1, 4 and 8: local engines that batch, and servers.

Runs ``promptlab eval``'s harness (direct strategy, SVAMP, greedy, 24 new tokens at
most) on the in-process llama.cpp and transformers backends (concurrent calls are
decoded as one batch), and through the OpenAI backend against:

* llama.cpp's own ``llama-server`` (``make llama-server``), 8 parallel slots with continuous
  batching, and the llama-cpp-python server (``python -m llama_cpp.server``, one request at a
  time), each with the embedded SmolLM2-135M model, started and stopped here, on 127.0.0.1;
* a simulated server that answers every request after a fixed delay, in parallel (how
  a batching server such as vLLM behaves), on an in-process HTTP transport. It shows
  what the harness's concurrency buys when the server can use it.

    .venv/bin/python benchmarks/eval_throughput.py [--items 32] [--delay-ms 100]
        [--only llamacpp hf llama-server llama_cpp.server simulated] [--concurrency 1 8]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from promptlab.backends.base import Backend
from promptlab.backends.embedded import embedded_model_path
from promptlab.backends.llama_server import llama_server, native_llama_server
from promptlab.backends.openai import OpenAIBackend
from promptlab.backends.registry import load_backend
from promptlab.eval.checkpoint import Checkpoint, EvalConfig
from promptlab.eval.datasets import Dataset, load_dataset
from promptlab.eval.harness import run_evaluation
from promptlab.eval.strategies import build_runner

CONCURRENCY = (1, 4, 8)
TARGETS = {"llamacpp": "llamacpp", "hf": f"hf:{embedded_model_path()}", "llama-server": "", "llama_cpp.server": "",
           "simulated": ""}
MAX_NEW_TOKENS = 24


class ParallelServer(httpx.AsyncBaseTransport):
    """An OpenAI /v1/completions endpoint that answers after ``delay`` seconds, any number at once."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.delay)
        body = {"object": "text_completion", "model": "simulated",
                "choices": [{"index": 0, "text": " 42", "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 40, "completion_tokens": 2}}
        if not json.loads(request.content).get("stream"):
            return httpx.Response(200, json=body)
        # A call with stop strings streams (the client trims stops): answer as SSE, as servers do.
        events = f"data: {json.dumps(body)}\n\ndata: [DONE]\n\n".encode()
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=events)


def evaluate(data: Dataset, backend: Backend, spec: str, concurrency: int, items: int, offset: int = 0,
             strategy: str = "direct") -> tuple[float, float]:
    """(seconds, accuracy) of one fresh evaluation of ``items`` items from ``offset`` on."""
    data = dataclasses.replace(data, items=data.items[offset : offset + items])
    config = EvalConfig(dataset=data.name, dataset_path=str(data.path), fingerprint=data.fingerprint,
                        task=data.task, strategy=strategy, backend=spec)
    runner = build_runner(strategy, backend, max_new_tokens=MAX_NEW_TOKENS if strategy == "direct" else 96)
    with tempfile.TemporaryDirectory() as out, Checkpoint.open(out, config) as checkpoint:
        started = time.perf_counter()
        outcome = run_evaluation(data, runner, checkpoint, concurrency=concurrency, limit=items)
        elapsed = time.perf_counter() - started
        if outcome.aborted or outcome.completed != items:
            raise SystemExit(f"evaluation incomplete: {outcome}")
        accuracy = sum(r.correct for r in checkpoint.results) / items
    return elapsed, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=32, help="SVAMP items per run")
    parser.add_argument("--delay-ms", type=float, default=100.0, help="the simulated server's latency")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="llama.cpp server threads")
    parser.add_argument("--only", nargs="+", default=list(TARGETS), choices=list(TARGETS), help="what to measure")
    parser.add_argument("--concurrency", nargs="+", type=int, default=list(CONCURRENCY))
    parser.add_argument("--strategy", choices=["direct", "cot"], default="direct",
                        help="direct (prompt-bound: ~40 prompt tokens, a few answer tokens) or cot (decode-bound: a "
                             "cached few-shot prefix, up to 96 generated tokens)")
    args = parser.parse_args()
    data = load_dataset("svamp")
    rows: list[tuple[str, int, float, float | None]] = []
    load_before = os.getloadavg()[0]

    def measure(label: str, backend: Backend, spec: str, scored: bool = True) -> None:
        evaluate(data, backend, spec, 1, 2, offset=len(data.items) - 2, strategy=args.strategy)  # warm-up
        for run, concurrency in enumerate(args.concurrency):
            # Each level gets items of its own: a prompt cached by an earlier level (llama-server keeps
            # every slot's prompt, and a host-memory prompt cache) would otherwise be free.
            seconds, accuracy = evaluate(data, backend, spec, concurrency, args.items, offset=run * args.items,
                                         strategy=args.strategy)
            rows.append((label, concurrency, seconds, accuracy if scored else None))
            print(f"{label} concurrency {concurrency}: {seconds:.2f} s", file=sys.stderr, flush=True)

    if "simulated" in args.only:
        simulated = OpenAIBackend("http://simulated/v1", model="simulated",
                                  transport=ParallelServer(args.delay_ms / 1000))
        measure(f"simulated parallel server ({args.delay_ms:g} ms/request)", simulated, "openai:simulated", False)
    for spec in ("llamacpp", "hf"):
        if spec in args.only:
            with load_backend(TARGETS[spec]) as backend:
                how = "batches concurrent calls" if spec == "llamacpp" else "default: batches calls on a GPU only"
                measure(f"in-process {spec} ({how})", backend, TARGETS[spec])
    if "llama-server" in args.only:
        slots = max(args.concurrency)
        with native_llama_server(parallel=slots, threads=args.threads) as url, OpenAIBackend(url) as server:
            measure(f"llama-server ({slots} slots, continuous batching)", server, f"openai:{url}")
    if "llama_cpp.server" in args.only:
        with llama_server(n_ctx=2048, threads=args.threads) as url, OpenAIBackend(url, dialect="llama-cpp") as server:
            measure("llama_cpp.server (one request at a time)", server, f"openai:{url}")

    print(f"Evaluation throughput: {args.strategy} strategy on {args.items} SVAMP items per level (items of its own), "
          f"greedy, at most {MAX_NEW_TOKENS if args.strategy == 'direct' else 96} new tokens; {os.cpu_count()} CPUs, "
          f"llama.cpp server threads {args.threads}, "
          f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}\n")
    print("| server | concurrency | seconds | items/s | speed-up vs concurrency 1 | accuracy |")
    print("|---|---:|---:|---:|---:|---:|")
    base: dict[str, float] = {}
    for engine, concurrency, seconds, accuracy in rows:
        base.setdefault(engine, seconds)
        shown = "-" if accuracy is None else f"{accuracy:.0%}"
        print(f"| {engine} | {concurrency} | {seconds:.2f} | {args.items / seconds:.2f} | "
              f"{base[engine] / seconds:.2f} | {shown} |")


if __name__ == "__main__":
    main()
