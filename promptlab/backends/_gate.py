"""CallGate: the one concurrency policy of every backend.

A backend that cannot run calls side by side (a local engine) holds the gate for the
length of each call, so threads and asyncio tasks (run in worker threads) queue up.
A thread that already holds the gate (an open stream it has not finished) and calls
again gets a clear error instead of a deadlock. Concurrent backends pass straight through.
"""

from __future__ import annotations

import threading
from types import TracebackType

from promptlab.errors import BackendError


class CallGate:
    """A lock that knows its owner thread, to refuse re-entry with an explanation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def hold(self, concurrent: bool) -> GateHold:
        """A context manager holding the gate (or nothing, for a concurrent backend)."""
        return GateHold(None if concurrent else self)

    def acquire(self) -> None:
        if self._owner == threading.get_ident():
            raise BackendError(
                "this backend is already busy in this thread (an open stream?): exhaust or close the stream "
                "before the next call"
            )
        self._lock.acquire()
        self._owner = threading.get_ident()

    def release(self) -> None:
        self._owner = None
        self._lock.release()


class GateHold:
    """Holds a :class:`CallGate` between enter and exit; exiting twice is harmless."""

    def __init__(self, gate: CallGate | None) -> None:
        self._gate = gate
        self._held = False

    def __enter__(self) -> GateHold:
        if self._gate is not None:
            self._gate.acquire()
            self._held = True
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._held and self._gate is not None:
            self._held = False
            self._gate.release()
