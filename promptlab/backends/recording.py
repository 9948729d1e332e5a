"""Record and replay: every call of a backend, chat and streams included, kept in a JSONL file.

:class:`RecordingBackend` wraps any backend and appends one JSON line per call: its kind
(``generate``, ``chat``, ``stream``, ``stream_chat``), what was asked, the config, and the
completions or streamed chunks. :class:`Recording` reads the file back;
:meth:`MockBackend.replay` answers from it byte for byte, so a test can pin a real model.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from promptlab.backends.base import Backend, Completion, ToolChoice, WrappingBackend
from promptlab.chat import Message, ToolSchema, template_payload
from promptlab.config import GenerationConfig
from promptlab.errors import BackendSpecError, ReplayMissError

__all__ = ["Recording", "RecordingBackend", "chat_key", "recording_key", "stream_key"]


class RecordingBackend(WrappingBackend):
    """Wraps any backend and appends each call (completions, or a stream's chunks) to a JSONL file.

    Replay the file later with :meth:`MockBackend.replay`. A stream is recorded once it
    has been read to its end.
    """

    def __init__(self, inner: Backend, path: str | Path) -> None:
        super().__init__(inner)
        self.path = Path(path)
        self.name = f"recording({inner.name})"
        self._write_lock = threading.Lock()

    def _generate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        completions = self.inner.generate(prompt, config)
        self._write(recording_key(prompt, config), {"prompt": prompt}, config, completions=completions)
        return completions

    def _chat(self, messages: list[Message], config: GenerationConfig, tools: list[ToolSchema] | None,
              tool_choice: ToolChoice) -> list[Completion]:
        completions = self.inner.chat(messages, config, tools=tools, tool_choice=tool_choice)
        self._write(chat_key(messages, config, tools, tool_choice),
                    {"kind": "chat", **_chat_request(messages, tools, tool_choice)}, config, completions=completions)
        return completions

    def _stream(self, prompt: str, config: GenerationConfig) -> Iterator[str]:
        request = {"kind": "stream", "prompt": prompt}
        return self._recorded(self.inner.stream(prompt, config), stream_key(prompt, config), request, config)

    def _stream_chat(self, messages: list[Message], config: GenerationConfig) -> Iterator[str]:
        request = {"kind": "stream_chat", **_chat_request(messages, None, None)}
        return self._recorded(self.inner.stream_chat(messages, config), stream_key(messages, config), request, config)

    def _close(self) -> None:
        self.inner.close()

    def _recorded(self, chunks: Iterator[str], key: str, request: dict[str, Any],
                  config: GenerationConfig) -> Iterator[str]:
        seen: list[str] = []
        for chunk in chunks:
            seen.append(chunk)
            yield chunk
        self._write(key, request, config, chunks=seen)

    def _write(self, key: str, request: dict[str, Any], config: GenerationConfig, *,
               completions: Sequence[Completion] | None = None, chunks: Sequence[str] | None = None) -> None:
        record: dict[str, Any] = {"key": key, **request, "config": config.model_dump(mode="json")}
        if completions is not None:
            record["completions"] = [c.model_dump(mode="json") for c in completions]
        if chunks is not None:
            record["chunks"] = list(chunks)
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._write_lock, self.path.open("a", encoding="utf-8") as sink:
            sink.write(line)


class Recording:
    """A recording read back: completions and streamed chunks by call key (later lines win)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise BackendSpecError(f"recording {str(self.path)!r} does not exist")
        self._completions: dict[str, list[Completion]] = {}
        self._chunks: dict[str, list[str]] = {}
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if "chunks" in record:
                    self._chunks[record["key"]] = [str(c) for c in record["chunks"]]
                else:
                    self._completions[record["key"]] = [Completion.model_validate(c) for c in record["completions"]]
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise BackendSpecError(f"recording {str(self.path)!r} line {number} is malformed: {exc}") from None

    def completions(self, key: str, what: str) -> list[Completion]:
        """The completions recorded under ``key``; :class:`ReplayMissError` naming ``what`` when there are none."""
        if key not in self._completions:
            raise self._miss(key, what)
        return list(self._completions[key])

    def chunks(self, key: str, what: str) -> list[str]:
        """The chunks of the stream recorded under ``key``."""
        if key not in self._chunks:
            raise self._miss(key, what)
        return list(self._chunks[key])

    def _miss(self, key: str, what: str) -> ReplayMissError:
        return ReplayMissError(f"recording {str(self.path)!r} has no {what} with this config (key {key[:12]}); "
                               "record it again with RecordingBackend")


def recording_key(prompt: str, config: GenerationConfig) -> str:
    """Stable key of one ``generate`` call: a hash of the prompt and every decoding knob."""
    return _hash({"prompt": prompt, "config": config.model_dump(mode="json")})


def chat_key(messages: Sequence[Message], config: GenerationConfig, tools: Sequence[ToolSchema] | None,
             tool_choice: ToolChoice) -> str:
    """Stable key of one ``chat`` call: the messages, tools, tool choice and every knob."""
    return _hash({"chat": _chat_request(messages, tools, tool_choice), "config": config.model_dump(mode="json")})


def stream_key(request: str | Sequence[Message], config: GenerationConfig) -> str:
    """Stable key of one stream (of a prompt, or of a conversation)."""
    asked: Any = request if isinstance(request, str) else [template_payload(m) for m in request]
    return _hash({"stream": asked, "config": config.model_dump(mode="json")})


def _chat_request(messages: Sequence[Message], tools: Sequence[ToolSchema] | None,
                  tool_choice: ToolChoice) -> dict[str, Any]:
    return {"messages": [template_payload(m) for m in messages], "tools": list(tools) if tools else None,
            "tool_choice": tool_choice}


def _hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()
