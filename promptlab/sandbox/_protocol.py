"""Length-prefixed JSON frames between the host and the sandbox worker (standard library only)."""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024


class ChannelClosed(Exception):
    """The other end closed its pipe (or died)."""


class ChannelTimeout(Exception):
    """No complete frame arrived before the deadline."""


def encode(message: Any) -> bytes:
    body = json.dumps(message).encode()
    return HEADER.pack(len(body)) + body


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BrokenPipeError as exc:
            raise ChannelClosed("the pipe is closed") from exc
        view = view[written:]


def send(fd: int, message: Any) -> None:
    write_all(fd, encode(message))


def send_body(fd: int, body: bytes) -> None:
    """Send an already JSON-encoded message."""
    write_all(fd, HEADER.pack(len(body)) + body)


def read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    """``size`` bytes from ``fd``; waits at most until ``deadline`` (a ``time.monotonic()`` value)."""
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise ChannelTimeout(f"no answer within the deadline ({size - remaining} of {size} bytes)")
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise ChannelClosed("the pipe was closed mid-frame" if chunks else "the pipe is closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def receive(fd: int, deadline: float | None = None) -> Any:
    (size,) = HEADER.unpack(read_exactly(fd, HEADER.size, deadline))
    if size > MAX_FRAME:
        raise ChannelClosed(f"frame of {size} bytes exceeds the {MAX_FRAME} byte limit")
    return json.loads(read_exactly(fd, size, deadline))
