"""The sandbox worker: a lean long-lived process that forks one child per program and enforces its limits.

The host starts it with ``sys.executable -I -S`` and stub ``promptlab`` packages (see ``host.py``), so it imports
only the standard library, RestrictedPython, ``policy``, ``program`` and ``protocol``. Forking from a small
process is what keeps a run at about a millisecond or two; the child drops privileges and applies its rlimits
before it compiles anything, and the worker kills it at the wall-clock deadline.
"""

from __future__ import annotations

import collections
import ctypes
import gc
import importlib
import json
import math
import os
import resource
import select
import signal
import time
from collections.abc import Mapping
from typing import Any, NoReturn

from promptlab.sandbox import _protocol as protocol
from promptlab.sandbox.policy import ModuleProxy, build_proxies
from promptlab.sandbox.program import execute, outcome

NOBODY = 65534
"""The unprivileged uid and gid a child takes when the worker runs as root (RLIMIT_NPROC binds only non-root)."""

SPARES = 2
"""Children kept forked and warmed ahead of requests: with two, back-to-back runs still find a warm one."""

MAX_RESULT_BYTES = 8 * 1024 * 1024
_EXIT_OUT_OF_MEMORY = 71
_PR_SET_PDEATHSIG = 1
_PRELOADED = ("unicodedata", "encodings.utf_16", "encodings.utf_32", "encodings.latin_1", "encodings.idna")
"""Modules the interpreter imports lazily (the parser needs unicodedata for non-ASCII names): a child cannot
open files, so they are imported here, before any fork."""
_WARM_UP = """\
import math
def solution():
    total = 0
    for i, x in enumerate([1.5, 2]):
        total += math.floor(x) * i
    print(total)
    return {"total": total, "items": [total, "a"]}
"""
"""A waiting child runs this first: its copy-on-write page faults then happen before the real program arrives
(measured: 2.3 ms to 0.7 ms from request to result)."""


def serve(host_pid: int = 0) -> None:
    """Answer run requests on stdin with results on stdout until the host closes stdin.

    The worker and its children die with the host: with ``host_pid`` (the host's pid) the worker takes a
    parent-death signal; in any case it watches the request pipe during a run and leaves when it closes.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the host's business
    if host_pid:
        die_with_parent(host_pid)
    requests, responses = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # a stray print must not corrupt the protocol
    for name in _PRELOADED:
        importlib.import_module(name)
    proxies = build_proxies()
    gc.collect()
    gc.freeze()  # children then never touch (and copy) the worker's objects when they collect
    protocol.send(responses, {"ready": os.getpid()})
    spares = collections.deque(_Child.fork(proxies, devnull) for _ in range(SPARES))
    while True:
        try:
            request = protocol.receive(requests)
        except protocol.ChannelClosed:
            return
        child = spares.popleft()
        while not child.waiting():  # it died while idle (the OOM killer, say): take a fresh one
            child = _Child.fork(proxies, devnull)
        try:
            body = child.run(request, requests)
        except _HostGone:
            return  # the spares see their pipes close and exit
        protocol.send_body(responses, body)
        child.reap()
        spares.append(_Child.fork(proxies, devnull))  # forked and warmed while the host is busy


class _HostGone(Exception):
    """The host closed the request pipe during a run: it has died."""


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit now if the parent is already gone."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the pipe watch still ends the worker
    if os.getppid() != parent_pid:  # it died before the signal was armed
        os._exit(0)


class _Child:
    """A forked child, waiting (already unprivileged) for the one program it will run."""

    def __init__(self, pid: int, requests: int, results: int) -> None:
        self.pid, self.requests, self.results = pid, requests, results
        self.wait_status: int | None = None

    @classmethod
    def fork(cls, proxies: Mapping[str, ModuleProxy], devnull: int) -> _Child:
        request_read, request_write = os.pipe()
        result_read, result_write = os.pipe()
        worker_pid = os.getpid()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which reports through its pipe
            _child_main(request_read, result_write, proxies, devnull, worker_pid)
        os.close(request_read)
        os.close(result_write)
        return cls(pid, request_write, result_read)

    def waiting(self) -> bool:
        """Whether the child is still alive (and so waiting for its program); reaps it if not."""
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return True
        self.wait_status = status
        os.close(self.requests)
        os.close(self.results)
        return False

    def run(self, request: Mapping[str, Any], host: int) -> bytes:
        """Hand the child its program and return its result as a JSON body (the worker never decodes it).

        ``host`` is the request pipe: it turns readable during a run only when the host has died
        (the host waits for this answer before sending anything); then the child is killed and
        :class:`_HostGone` raised.
        """
        timeout = float(request["timeout"])
        try:
            protocol.send(self.requests, request)
        except protocol.ChannelClosed:
            pass  # the child died while waiting; its exit status says why
        finally:
            os.close(self.requests)
        try:
            data, ending = _collect(self.results, time.monotonic() + timeout, host)
        finally:
            os.close(self.results)
        if ending == "host_gone":
            os.kill(self.pid, signal.SIGKILL)
            self.reap()
            raise _HostGone
        if ending == "eof" and _is_frame(data):
            return data[protocol.HEADER.size:]  # answered before the child's exit is reaped
        if ending != "eof":
            os.kill(self.pid, signal.SIGKILL)
        self.reap()
        assert self.wait_status is not None
        if ending == "timeout":
            return _body("timeout", f"the program did not finish within {timeout:g} s")
        if ending == "too_big":
            return _body("error", f"the program's result exceeded {MAX_RESULT_BYTES} bytes")
        return _ended_early(self.wait_status, timeout, int(request["memory_mb"]))

    def reap(self) -> None:
        if self.wait_status is None:
            self.wait_status = os.waitpid(self.pid, 0)[1]


def _child_main(requests: int, results: int, proxies: Mapping[str, ModuleProxy], devnull: int,
                worker_pid: int) -> NoReturn:  # pragma: no cover - runs in the child
    code = 70
    try:
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        _close_all_but(requests, results)  # the host's pipes, the other spares' pipes, devnull
        _drop_privileges()
        die_with_parent(worker_pid)  # after the uid change, which clears a parent-death signal
        execute(_WARM_UP, "solution", proxies, max_output=100)
        baseline = _address_space()
        _set_limits((resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, 0), (resource.RLIMIT_NOFILE, 0),
                    (resource.RLIMIT_NPROC, 0))
        request = protocol.receive(requests)
        timeout, memory_mb = float(request["timeout"]), int(request["memory_mb"])
        cpu = math.ceil(timeout) + 1
        _set_limits((resource.RLIMIT_CPU, cpu, cpu + 1))
        if baseline is not None:
            _set_limits((resource.RLIMIT_AS, baseline + memory_mb * 1024 * 1024))
        result = execute(request["code"], request["call"], proxies, max_output=int(request["max_output"]),
                         memory_mb=memory_mb)
        protocol.send(results, result)
        os.close(results)
        code = 0
    except MemoryError:
        code = _EXIT_OUT_OF_MEMORY
    finally:
        os._exit(code)


def _close_all_but(*keep: int) -> None:
    """Close every descriptor above stderr except ``keep``."""
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def _drop_privileges() -> None:
    """Become ``nobody`` when running as root, so that RLIMIT_NPROC binds."""
    if os.geteuid() == 0:
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
        except OSError:
            pass  # e.g. a user namespace without that uid: the import policy still blocks processes


def _set_limits(*limits: tuple[int, ...]) -> None:
    """``(kind, soft)`` or ``(kind, soft, hard)``; a lowered hard limit cannot be raised again by the program."""
    for kind, soft, *hard in limits:
        resource.setrlimit(kind, (soft, hard[0] if hard else soft))


def _address_space() -> int | None:
    """The child's current virtual size in bytes (Linux), so that ``memory_mb`` is what the program adds."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def _collect(fd: int, deadline: float, host: int) -> tuple[bytes, str]:
    """Read the child's result until EOF ("eof"), the deadline ("timeout"), the size cap ("too_big"),
    or the host's death ("host_gone": its pipe ``host`` turned readable)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        wait = deadline - time.monotonic()
        ready = select.select([fd, host], [], [], wait)[0] if wait > 0 else []
        if host in ready:
            return b"", "host_gone"
        if not ready:
            return b"", "timeout"
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks), "eof"
        size += len(chunk)
        if size > MAX_RESULT_BYTES:
            return b"", "too_big"
        chunks.append(chunk)


def _ended_early(wait_status: int, timeout: float, memory_mb: int) -> bytes:
    """Describe a child that died without a result (a limit's signal, or running out of memory)."""
    if os.WIFSIGNALED(wait_status):
        signum = os.WTERMSIG(wait_status)
        if signum in (signal.SIGXCPU, signal.SIGKILL):
            return _body("timeout", f"the program used more than {math.ceil(timeout) + 1} s of CPU time")
        return _body("error", f"the program crashed ({signal.Signals(signum).name})")
    if os.WEXITSTATUS(wait_status) == _EXIT_OUT_OF_MEMORY:
        return _body("memory", f"the program ran out of memory (limit of {memory_mb} MB)")
    return _body("error", f"the sandboxed process failed (exit status {os.WEXITSTATUS(wait_status)})")


def _is_frame(data: bytes) -> bool:
    """Whether ``data`` is one whole frame (a child killed while writing leaves a partial one)."""
    if len(data) < protocol.HEADER.size:
        return False
    size: int = protocol.HEADER.unpack_from(data)[0]
    return len(data) == protocol.HEADER.size + size


def _body(status: str, error: str) -> bytes:
    return json.dumps(outcome(status, error=error)).encode()
