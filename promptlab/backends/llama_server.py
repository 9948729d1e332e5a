"""Serve a GGUF model over the OpenAI API on this machine: llama-cpp-python's server, started and stopped."""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx

from promptlab.backends.embedded import embedded_model_path
from promptlab.backends.llamacpp import default_threads
from promptlab.errors import BackendUnavailableError, MissingDependencyError

SERVER_PACKAGES = ("llama_cpp", "fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings")
"""What ``python -m llama_cpp.server`` imports (the ``server`` extra)."""

__all__ = ["llama_server"]


@contextlib.contextmanager
def llama_server(
    model_path: str | Path | None = None,
    *,
    n_ctx: int = 4096,
    threads: int | None = None,
    chat_format: str | None = None,
    startup_timeout_s: float = 90.0,
) -> Iterator[str]:
    """Run ``python -m llama_cpp.server`` on 127.0.0.1 (a free port); yield its ``/v1`` URL.

    ``model_path`` defaults to the embedded model; ``threads`` to LlamaCppBackend's default, so
    greedy text matches the in-process backend. The server is started with
    ``--interrupt_requests False``: by default a new request cuts off the one in flight.
    ``chat_format`` is the server's ``--chat_format`` (default: the GGUF's own template); for
    OpenAI tool calls on a ChatML model such as the embedded one, ``"chatml-function-calling"``.
    Raises BackendUnavailableError with the server's log when it exits or does not answer in time.
    """
    for package in SERVER_PACKAGES:
        if importlib.util.find_spec(package) is None:
            raise MissingDependencyError("llama_server (llama-cpp-python's OpenAI server)", package, "server")
    model = Path(model_path) if model_path is not None else embedded_model_path()
    n_threads = str(threads or default_threads())
    port = _free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
        "--n_threads", n_threads, "--n_threads_batch", n_threads,
        "--interrupt_requests", "False",
    ]  # fmt: skip
    if chat_format is not None:
        command += ["--chat_format", chat_format]
    url = f"http://127.0.0.1:{port}/v1"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_serving(process, url, log, startup_timeout_s)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_serving(process: subprocess.Popen[bytes], url: str, log: IO[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BackendUnavailableError(f"llama_cpp.server exited with code {process.returncode}:\n{_tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/models", timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    raise BackendUnavailableError(f"llama_cpp.server did not answer within {timeout_s:g} s:\n{_tail(log)}")


def _tail(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode("utf-8", errors="replace")[-2000:]
