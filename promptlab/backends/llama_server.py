"""Serve a GGUF model over the OpenAI API on this machine, started and stopped: llama-cpp-python's server
(one request at a time) or llama.cpp's own ``llama-server`` (parallel slots, continuous batching)."""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import shutil
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

LLAMA_SERVER_ENV = "PROMPTLAB_LLAMA_SERVER"
"""An explicit path to a ``llama-server`` binary."""

__all__ = ["LLAMA_SERVER_ENV", "llama_server", "llama_server_binary", "llama_server_cache_dir", "native_llama_server"]


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
    with _serving(command, url, "llama_cpp.server", startup_timeout_s):
        yield url


@contextlib.contextmanager
def native_llama_server(
    model_path: str | Path | None = None,
    *,
    parallel: int = 4,
    n_ctx_per_slot: int = 2048,
    threads: int | None = None,
    binary: str | Path | None = None,
    extra_args: tuple[str, ...] = (),
    startup_timeout_s: float = 90.0,
) -> Iterator[str]:
    """Run llama.cpp's ``llama-server`` on 127.0.0.1 (a free port); yield its ``/v1`` URL.

    ``parallel`` slots share one KV cache of ``parallel * n_ctx_per_slot`` tokens and are decoded
    together (continuous batching). Chat goes through the GGUF's Jinja template (``--jinja``),
    which is what lets the server take OpenAI ``tools`` on any model. ``binary`` defaults to
    :func:`llama_server_binary`. Raises BackendUnavailableError with the server's log when it
    exits or does not answer in time, and FileNotFoundError when no binary is found.
    """
    executable = Path(binary) if binary is not None else llama_server_binary()
    model = Path(model_path) if model_path is not None else embedded_model_path()
    n_threads = str(threads or default_threads())
    port = _free_port()
    command = [
        str(executable), "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
        "--ctx-size", str(parallel * n_ctx_per_slot), "--parallel", str(parallel), "--kv-unified",
        "--threads", n_threads, "--threads-batch", n_threads, "--jinja", "--no-webui",
        *extra_args,
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    with _serving(command, url, "llama-server", startup_timeout_s):
        yield url


def llama_server_cache_dir() -> Path:
    """Where ``make llama-server`` puts its build: ``$PROMPTLAB_CACHE_DIR`` or ``~/.cache/promptlab``,
    then ``llama-server/<llama-cpp-python version>`` (the llama.cpp source it was built from)."""
    root = os.environ.get("PROMPTLAB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "promptlab"
    )
    return Path(root) / "llama-server" / _llama_cpp_version()


def llama_server_binary() -> Path:
    """The ``llama-server`` to run: ``$PROMPTLAB_LLAMA_SERVER``, else the build of ``make llama-server``
    for the installed llama-cpp-python, else one on ``PATH``."""
    explicit = os.environ.get(LLAMA_SERVER_ENV)
    if explicit:
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
            raise FileNotFoundError(f"${LLAMA_SERVER_ENV} is {explicit!r}, which is not an executable file")
        return Path(explicit)
    built = llama_server_cache_dir() / "bin" / "llama-server"
    if built.is_file() and os.access(built, os.X_OK):
        return built
    on_path = shutil.which("llama-server")
    if on_path is not None:
        return Path(on_path)
    raise FileNotFoundError(
        f"no llama-server binary: run `make llama-server` in a promptlab checkout (builds into {built}), "
        f"put llama.cpp's llama-server on PATH, or set ${LLAMA_SERVER_ENV}"
    )


def _llama_cpp_version() -> str:
    try:
        return importlib.metadata.version("llama_cpp_python")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@contextlib.contextmanager
def _serving(command: list[str], url: str, name: str, startup_timeout_s: float) -> Iterator[None]:
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_serving(process, url, log, name, startup_timeout_s)
            yield
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


def _wait_until_serving(
    process: subprocess.Popen[bytes], url: str, log: IO[bytes], name: str, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BackendUnavailableError(f"{name} exited with code {process.returncode}:\n{_tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/models", timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    raise BackendUnavailableError(f"{name} did not answer within {timeout_s:g} s:\n{_tail(log)}")


def _tail(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode("utf-8", errors="replace")[-2000:]
