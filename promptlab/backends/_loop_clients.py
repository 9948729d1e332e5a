"""One ``httpx.AsyncClient`` per event loop, each closed with its loop or with its owner.

httpx connections belong to the event loop that opened them, so a backend used from several
loops (``asyncio.run`` twice, or threads with their own loops) needs a client per loop. A
client is closed when its loop shuts down (``asyncio.run`` finalises async generators: a
small watcher generator closes the client then) or when :meth:`LoopClients.close` is called,
whichever comes first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable

import httpx

_CLOSE_TIMEOUT_S = 10.0


class LoopClients:
    """Async clients made by ``make``, one per running event loop."""

    def __init__(self, make: Callable[[], httpx.AsyncClient]) -> None:
        self._make = make
        self._clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}
        self._watchers: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}

    @property
    def clients(self) -> list[httpx.AsyncClient]:
        """Every client made so far (closed ones included)."""
        return list(self._clients.values())

    async def get(self) -> httpx.AsyncClient:
        """The running loop's client, made on first use."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            self._forget_closed_loops()
            client = self._clients[loop] = self._make()
            watcher = self._watchers[loop] = _close_at_shutdown(client)
            await anext(watcher)  # now the loop knows it: shutdown_asyncgens() will close the client
        return client

    async def aclose_current(self) -> None:
        """Close the running loop's client, if there is one."""
        loop = asyncio.get_running_loop()
        client = self._clients.pop(loop, None)
        self._watchers.pop(loop, None)
        if client is not None:
            await client.aclose()

    def close(self) -> None:
        """Close every client whose loop is still there; a running loop of this thread closes its own soon."""
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for loop, client in list(self._clients.items()):
            if client.is_closed or loop.is_closed():
                continue  # a closed loop closed its client at shutdown (or left nothing open to close)
            if loop is current:
                loop.create_task(client.aclose())  # cannot wait here without blocking the loop
            elif loop.is_running():
                asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(_CLOSE_TIMEOUT_S)
            else:
                loop.run_until_complete(client.aclose())
        self._clients.clear()
        self._watchers.clear()

    def _forget_closed_loops(self) -> None:
        for loop in [lp for lp in self._clients if lp.is_closed()]:
            del self._clients[loop]
            self._watchers.pop(loop, None)


async def _close_at_shutdown(client: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await client.aclose()
