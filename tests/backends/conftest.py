"""A real OpenAI-compatible server for the backend tests: llama-cpp-python's, on the embedded model."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from promptlab.backends.embedded import embedded_model_path
from promptlab.backends.llamacpp import default_threads
from promptlab.backends.openai import OpenAIBackend

STARTUP_LIMIT_S = 90.0


@pytest.fixture(scope="session")
def llama_server() -> Iterator[str]:
    """``python -m llama_cpp.server`` on 127.0.0.1 with the embedded GGUF; yields its ``/v1`` URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(embedded_model_path()),
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048",
        "--n_threads", str(default_threads()), "--n_threads_batch", str(default_threads()),
        "--interrupt_requests", "False",  # else a second request cuts the stream in flight
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        log_path = Path(scratch) / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/v1"
            _wait_until_serving(process, url, log_path)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_serving(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/models", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"llama_cpp.server did not answer within {STARTUP_LIMIT_S:.0f}s:\n{log_path.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def openai_backend(llama_server: str) -> Iterator[OpenAIBackend]:
    """OpenAIBackend talking to the local llama-cpp-python server."""
    backend = OpenAIBackend(llama_server, dialect="llama-cpp", timeout=60, max_retries=1)
    yield backend
    backend.close()
