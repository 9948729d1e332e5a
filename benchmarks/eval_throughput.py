"""Evaluation throughput against OpenAI-compatible servers at concurrency 1, 4 and 8.

Runs ``promptlab eval``'s harness (direct strategy, SVAMP, greedy, 24 new tokens at
most) through the OpenAI backend against:

* the local llama-cpp-python server (``python -m llama_cpp.server``) with the embedded
  SmolLM2-135M model, started and stopped here, on 127.0.0.1;
* a simulated server that answers every request after a fixed delay, in parallel (how
  a batching server such as vLLM behaves), on an in-process HTTP transport. It shows
  what the harness's concurrency buys when the server can use it.

    .venv/bin/python benchmarks/eval_throughput.py [--items 16] [--delay-ms 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from promptlab.backends.embedded import embedded_model_path
from promptlab.backends.openai import OpenAIBackend
from promptlab.eval.checkpoint import Checkpoint, EvalConfig
from promptlab.eval.datasets import Dataset, load_dataset
from promptlab.eval.harness import run_evaluation
from promptlab.eval.strategies import build_runner

CONCURRENCY = (1, 4, 8)
MAX_NEW_TOKENS = 24


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llama_server(threads: int) -> Iterator[str]:
    """Start llama-cpp-python's server on the embedded model; yield its /v1 URL; stop it."""
    port = _free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(embedded_model_path()),
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", str(threads),
               "--verbose", "False",
               # By default the server drops the request in flight when another arrives: concurrent
               # clients would see truncated responses.
               "--interrupt_requests", "False"]
    url = f"http://127.0.0.1:{port}/v1"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_ready(server, url, log)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_ready(server: subprocess.Popen[bytes], url: str, log: IO[bytes]) -> None:
    deadline = time.monotonic() + 120
    while True:
        if server.poll() is not None:
            log.seek(0)
            raise SystemExit(f"llama_cpp.server exited: {log.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/models", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("llama_cpp.server did not start within 120 s")
        time.sleep(0.3)


class ParallelServer(httpx.AsyncBaseTransport):
    """An OpenAI /v1/completions endpoint that answers after ``delay`` seconds, any number at once."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.delay)
        body = {"object": "text_completion", "model": "simulated",
                "choices": [{"index": 0, "text": " 42", "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 40, "completion_tokens": 2}}
        return httpx.Response(200, json=body)


def evaluate(data: Dataset, backend: OpenAIBackend, spec: str, concurrency: int, items: int) -> tuple[float, float]:
    """(seconds, accuracy) of one fresh evaluation of the first ``items`` items."""
    config = EvalConfig(dataset=data.name, dataset_path=str(data.path), fingerprint=data.fingerprint,
                        task=data.task, strategy="direct", backend=spec)
    runner = build_runner("direct", backend, max_new_tokens=MAX_NEW_TOKENS)
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
    parser.add_argument("--items", type=int, default=16, help="SVAMP items per run")
    parser.add_argument("--delay-ms", type=float, default=100.0, help="the simulated server's latency")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="llama.cpp threads")
    args = parser.parse_args()
    data = load_dataset("svamp")
    rows: list[tuple[str, int, float, float | None]] = []
    load_before = os.getloadavg()[0]

    simulated = OpenAIBackend("http://simulated/v1", model="simulated", transport=ParallelServer(args.delay_ms / 1000))
    for concurrency in CONCURRENCY:
        seconds, _ = evaluate(data, simulated, "openai:simulated", concurrency, args.items)
        rows.append((f"simulated parallel server ({args.delay_ms:g} ms/request)", concurrency, seconds, None))

    with llama_server(args.threads) as url:
        backend = OpenAIBackend(url, dialect="llama-cpp")
        evaluate(data, backend, f"openai:{url}", 1, 2)  # warm-up: model pages, HTTP connection
        for concurrency in CONCURRENCY:
            seconds, accuracy = evaluate(data, backend, f"openai:{url}", concurrency, args.items)
            rows.append(("llama_cpp.server, SmolLM2-135M Q4_1", concurrency, seconds, accuracy))
        backend.close()

    print(f"Evaluation throughput: direct strategy on the first {args.items} SVAMP items, greedy, at most "
          f"{MAX_NEW_TOKENS} new tokens; {os.cpu_count()} CPUs, llama.cpp threads {args.threads}, "
          f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}\n")
    print("| server | concurrency | seconds | items/s | speed-up vs concurrency 1 | accuracy |")
    print("|---|---:|---:|---:|---:|---:|")
    base: dict[str, float] = {}
    for server, concurrency, seconds, accuracy in rows:
        base.setdefault(server, seconds)
        shown = "-" if accuracy is None else f"{accuracy:.0%}"
        print(f"| {server} | {concurrency} | {seconds:.2f} | {args.items / seconds:.2f} | "
              f"{base[server] / seconds:.2f} | {shown} |")


if __name__ == "__main__":
    main()
