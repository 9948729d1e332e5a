"""The host side of the sandbox: ``Sandbox`` owns a worker process and turns its answers into ``SandboxResult``."""

from __future__ import annotations

import functools
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import Any

from promptlab.errors import ConfigError, SandboxError
from promptlab.sandbox import _protocol as protocol
from promptlab.sandbox.result import SandboxResult

__all__ = [
    "DEFAULT_MAX_OUTPUT",
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT",
    "MAX_CODE_CHARS",
    "STARTUP_TIMEOUT",
    "Sandbox",
    "default_sandbox",
    "run",
]

DEFAULT_TIMEOUT = 5.0
DEFAULT_MEMORY_MB = 256
DEFAULT_MAX_OUTPUT = 64_000
MAX_CODE_CHARS = 1_000_000
STARTUP_TIMEOUT = 30.0
_GRACE = 5.0  # beyond the program's timeout, for the worker to fork, reap and answer

# The worker must not import promptlab (and its heavy dependencies): stub packages let it import the
# sandbox's own lean modules by their real names.
_BOOTSTRAP = """\
import sys, types
promptlab_dir, restricted_python_dir, host_pid = sys.argv[1:4]
sys.path.insert(0, restricted_python_dir)
for name, path in (("promptlab", promptlab_dir), ("promptlab.sandbox", promptlab_dir + "/sandbox")):
    package = types.ModuleType(name)
    package.__path__ = [path]
    sys.modules[name] = package
from promptlab.sandbox._worker import serve
serve(int(host_pid))
"""


class Sandbox:
    """Runs untrusted Python programs, each in a fresh child process under resource limits.

    The worker process starts on the first run (about 50 ms) and is reused; it is restarted after anything
    that kills it. ``run`` is thread-safe (runs are serialised); use several ``Sandbox`` objects to run in
    parallel. ``close()`` (or leaving a ``with`` block) stops the worker; so does interpreter exit.
    """

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT, memory_mb: int = DEFAULT_MEMORY_MB,
                 max_output: int = DEFAULT_MAX_OUTPUT) -> None:
        self.timeout, self.memory_mb, self.max_output = _check_limits(timeout, memory_mb, max_output)
        self._lock = threading.Lock()
        self._worker: _Worker | None = None

    def run(self, code: str, call: str | None = "solution", *, timeout: float | None = None,
            memory_mb: int | None = None, max_output: int | None = None) -> SandboxResult:
        """Run ``code``, then call the function named ``call`` (None: only run the module) and return its value.

        ``timeout`` is wall-clock seconds, ``memory_mb`` the address space the program may add,
        ``max_output`` the printed characters kept. Every failure of the program is a result, never an error.
        """
        if not isinstance(code, str):
            raise ConfigError(f"code must be a string of Python source, not {type(code).__name__}")
        if call is not None and not (call.isidentifier() and not call.startswith("_")):
            raise ConfigError(f"call must name a function (an identifier not starting with '_'), not {call!r}")
        limits = _check_limits(
            self.timeout if timeout is None else timeout,
            self.memory_mb if memory_mb is None else memory_mb,
            self.max_output if max_output is None else max_output,
        )
        started = time.perf_counter()
        if len(code) > MAX_CODE_CHARS:
            answer: dict[str, Any] = {"status": "error", "error": f"the program exceeds {MAX_CODE_CHARS} characters"}
        else:
            request = {"code": code, "call": call, "timeout": limits[0], "memory_mb": limits[1],
                       "max_output": limits[2]}
            with self._lock:
                answer = self._exchange(request, limits[0])
        return SandboxResult(**answer, duration_s=time.perf_counter() - started)

    def start(self) -> None:
        """Start the worker now rather than on the first run."""
        with self._lock:
            self._ensure_worker()

    def close(self) -> None:
        """Stop the worker (a later run starts a new one)."""
        with self._lock:
            self._discard_worker()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _exchange(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        for _ in range(2):
            worker = self._ensure_worker()
            try:
                worker.send(request)
            except protocol.ChannelClosed:
                self._discard_worker()  # it died while idle: start a fresh one and send again
                continue
            try:
                answer: dict[str, Any] = worker.receive(time.monotonic() + timeout + _GRACE)
            except protocol.ChannelTimeout:
                self._discard_worker()
                return {"status": "timeout", "error": f"the sandbox did not answer within {timeout:g} s"}
            except protocol.ChannelClosed:
                self._discard_worker()
                return {"status": "error", "error": "the sandbox worker died during the run; it will be restarted"}
            except BaseException:
                self._discard_worker()  # e.g. KeyboardInterrupt mid-run: its late answer must not reach the next run
                raise
            return answer
        raise SandboxError("the sandbox worker exits as soon as it starts")

    def _ensure_worker(self) -> _Worker:
        if self._worker is None or not self._worker.alive():
            self._discard_worker()
            self._worker = _Worker()
        return self._worker

    def _discard_worker(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None


@functools.cache
def default_sandbox() -> Sandbox:
    """The Sandbox that ``promptlab.sandbox.run`` uses (created on first use)."""
    return Sandbox()


def run(code: str, call: str | None = "solution", *, timeout: float = DEFAULT_TIMEOUT,
        memory_mb: int = DEFAULT_MEMORY_MB, max_output: int = DEFAULT_MAX_OUTPUT) -> SandboxResult:
    """Run an untrusted program in the default Sandbox; see ``Sandbox.run``."""
    return default_sandbox().run(code, call, timeout=timeout, memory_mb=memory_mb, max_output=max_output)


class _Worker:
    """One worker process and its pipes; stopped by ``close()``, garbage collection or interpreter exit."""

    def __init__(self) -> None:
        spec = importlib.util.find_spec("RestrictedPython")
        if spec is None or not spec.submodule_search_locations:
            raise SandboxError("the sandbox needs RestrictedPython: pip install RestrictedPython")
        if not hasattr(os, "fork"):
            raise SandboxError("the sandbox needs os.fork (Linux or another POSIX system)")
        restricted_python_dir = str(Path(next(iter(spec.submodule_search_locations))).parent)
        promptlab_dir = str(Path(__file__).resolve().parent.parent)
        # The worker dies with the host: by a parent-death signal when this is the main thread (the signal
        # follows the thread that started the worker, so a worker thread's exit must not fire it; 0: none),
        # and in every case by watching its request pipe, which closes when the host dies.
        host_pid = os.getpid() if threading.current_thread() is threading.main_thread() else 0
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _BOOTSTRAP, promptlab_dir, restricted_python_dir, str(host_pid)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, close_fds=True, start_new_session=True,
        )
        self._finalizer = weakref.finalize(self, _stop, self.process)
        assert self.process.stdin is not None and self.process.stdout is not None
        self._requests, self._answers = self.process.stdin.fileno(), self.process.stdout.fileno()
        try:
            protocol.receive(self._answers, time.monotonic() + STARTUP_TIMEOUT)
        except (protocol.ChannelClosed, protocol.ChannelTimeout) as exc:
            self.close()
            raise SandboxError(f"the sandbox worker did not start ({exc}); see its messages on stderr") from exc

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, request: dict[str, Any]) -> None:
        protocol.send(self._requests, request)

    def receive(self, deadline: float) -> Any:
        return protocol.receive(self._answers, deadline)

    def close(self) -> None:
        self._finalizer()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill the worker and whatever child it is running (they share a process group)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()
    process.wait()


def _check_limits(timeout: float, memory_mb: int, max_output: int) -> tuple[float, int, int]:
    if not 0 < timeout <= 3600:
        raise ConfigError(f"timeout must be between 0 and 3600 seconds, not {timeout!r}")
    if not 32 <= memory_mb <= 1 << 20:
        raise ConfigError(f"memory_mb must be between 32 and {1 << 20}, not {memory_mb!r}")
    if not 0 <= max_output <= 100_000_000:
        raise ConfigError(f"max_output must be between 0 and 100,000,000 characters, not {max_output!r}")
    return float(timeout), int(memory_mb), int(max_output)
