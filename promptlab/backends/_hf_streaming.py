"""Streaming for the transformers backend: ``generate`` runs in a worker thread, text flows out.

Tokens arrive through a transformers streamer; the text decoded so far is fed to a
:class:`~promptlab.stopping.StopMatcher`, which holds back anything that may still
become a stop string. When a stop fires, or the caller stops iterating, the worker
is told to stop through a stopping criterion, and joined.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import torch
from transformers import StoppingCriteria
from transformers.generation.streamers import BaseStreamer

from promptlab.backends._hf_decoding import RowDecoder
from promptlab.stopping import StopMatcher

_END = object()


class TokenQueue(BaseStreamer):
    """Receives each new token from ``generate`` (skipping the prompt it is first handed)."""

    def __init__(self) -> None:
        self.items: queue.Queue[Any] = queue.Queue()
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self.items.put(value.reshape(-1).tolist())

    def end(self) -> None:
        self.items.put(_END)


class Cancelled(StoppingCriteria):
    """Ends every row once ``event`` is set."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        done = torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)
        return done  # type: ignore[return-value]


def stream_text(
    run: Callable[[TokenQueue, Cancelled], object], decoder: RowDecoder, matcher: StopMatcher
) -> Iterator[str]:
    """Run ``run(streamer, cancel)`` in a thread and yield the text it generates, stops trimmed."""
    streamer, event = TokenQueue(), threading.Event()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            run(streamer, Cancelled(event))
        except BaseException as exc:  # handed to the consumer, re-raised there
            failure.append(exc)
        finally:
            streamer.end()

    worker = threading.Thread(target=work, name="promptlab-hf-stream", daemon=True)
    worker.start()
    try:
        yield from _texts(streamer, decoder, matcher)
    finally:
        event.set()
        worker.join()
    if failure:
        raise failure[0]


def _texts(streamer: TokenQueue, decoder: RowDecoder, matcher: StopMatcher) -> Iterator[str]:
    tokens: list[int] = []
    emitted = 0
    while (item := streamer.items.get()) is not _END:
        tokens.extend(item)
        kept, ended = decoder.cut(tokens)
        text = decoder.text(kept)
        ready = len(text) if ended else len(text.rstrip("\ufffd"))  # an incomplete UTF-8 character waits
        if ready > emitted:
            chunk = matcher.feed(text[emitted:ready])
            emitted = ready
            if chunk:
                yield chunk
        if matcher.stopped or ended:
            break
    if rest := matcher.flush():
        yield rest
