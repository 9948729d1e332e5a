"""MockBackend: scripted, rule-based and record/replay completions for tests.

The mock behaves like a real engine where it matters to a test: it counts tokens
with a simple deterministic tokenizer, honours ``max_new_tokens`` and applies stop
sequences through the shared :mod:`promptlab.stopping` code. Under a constraint, a
scripted or recorded response that a constrained engine could not have produced raises
:class:`~promptlab.errors.ConstraintViolationError`, so a test cannot pass on a script
the real model would never emit.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from promptlab.backends.base import Backend, Capabilities, Completion, ToolChoice, Usage
from promptlab.backends.recording import Recording, chat_key, recording_key, stream_key
from promptlab.backends.tool_calls import check_tool_format
from promptlab.chat import Message, ToolSchema
from promptlab.config import GenerationConfig
from promptlab.constraints import ALL_CONSTRAINT_KINDS
from promptlab.errors import BackendError, BackendSpecError, ConfigError
from promptlab.stopping import StopMatcher, stop_acceptor

__all__ = ["MockBackend", "Responder", "Rule", "mock_tokenize"]

Responder = Callable[[str], str]
Rule = tuple[str | re.Pattern[str], str | Responder]

_TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]|\s+")


def mock_tokenize(text: str) -> list[str]:
    """Split text into tokens whose concatenation is exactly ``text``.

    A token is a word or a single punctuation mark with its leading whitespace.
    """
    return _TOKEN.findall(text)


class PrefixTokenCounter:
    """Counts :func:`mock_tokenize` tokens, re-scanning only what differs from the last text counted.

    An agent resends a growing prompt each step, and a runner per question resends the same
    few-shot preamble. Every token of a text but its last is fixed by that text alone (the
    last may still grow: a word, a run of spaces), so the tokens of the previous text that
    end inside the prefix both texts share, less one, are kept and only the rest is scanned.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._previous = ""
        self._ends: list[int] = []  # end offset of each token of the previous text

    def __call__(self, text: str) -> int:
        with self._lock:
            ends = self._ends
            if ends and text.startswith(self._previous):  # the common case: the text grew
                del ends[-1]
            else:
                del ends[max(bisect.bisect_right(ends, _common_prefix_length(self._previous, text)) - 1, 0):]
            start = ends[-1] if ends else 0
            ends.extend(itertools.islice(itertools.accumulate(map(len, _TOKEN.findall(text, start)), initial=start),
                                         1, None))
            self._previous = text
            return len(ends)


def _common_prefix_length(a: str, b: str) -> int:
    low, high = 0, min(len(a), len(b))  # a[:low] == b[:low]; a[:high + 1] != b[:high + 1]
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:  # only the part not yet known to match is copied
            low = middle
        else:
            high = middle - 1
    return low


class MockBackend(Backend):
    """A backend that answers from a script, from rules, or from a recording.

    * ``MockBackend(["first", "second"])`` answers in order (cycling is an error).
    * ``MockBackend(rules=[(r"capital of France", "Paris")])`` answers the first rule
      whose regex matches the prompt; a rule's response may be a callable.
    * ``MockBackend.replay("calls.jsonl")`` returns recorded completions verbatim.

    ``prompts`` holds the last ``max_prompts`` prompts asked, for tests to inspect.
    ``chat_template`` replaces the default ChatML template (a Hermes-style one lets a script
    answer with ``<tool_call>`` blocks); ``tool_format`` is :attr:`Backend.tool_format`.
    """

    name = "mock"
    capabilities = Capabilities(streaming=True, concurrent=True, constraints=ALL_CONSTRAINT_KINDS)

    def __init__(
        self,
        responses: Sequence[str] = (),
        *,
        rules: Sequence[Rule] = (),
        default: str | Responder | None = None,
        chat_template: str | None = None,
        tool_format: str = "auto",
        max_prompts: int = 1_000,
    ) -> None:
        if max_prompts < 1:
            raise ConfigError(f"max_prompts must be at least 1, got {max_prompts}")
        self._script = list(responses)
        self._chat_template = chat_template
        self.tool_format = check_tool_format(tool_format)
        self._next = 0
        self._rules = [(re.compile(p) if isinstance(p, str) else p, r) for p, r in rules]
        self._default = default
        self._recording: Recording | None = None
        self.max_prompts = max_prompts
        self.prompts: list[str] = []
        """The prompts this backend was asked to complete, in order: the last ``max_prompts`` of them."""
        self._count = PrefixTokenCounter()

    @classmethod
    def from_file(cls, path: str | Path) -> MockBackend:
        """A scripted mock from a JSON file holding a list of response strings."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BackendSpecError(f"mock script {str(path)!r} does not exist") from None
        except json.JSONDecodeError as exc:
            raise BackendSpecError(f"mock script {str(path)!r} is not valid JSON: {exc}") from None
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise BackendSpecError(f"mock script {str(path)!r} must hold a JSON list of strings")
        return cls(data)

    @classmethod
    def replay(cls, path: str | Path) -> MockBackend:
        """A mock that returns, byte for byte, the completions recorded in ``path``."""
        mock = cls()
        mock._recording = Recording(path)
        return mock

    @property
    def chat_template(self) -> str:
        """``chat_template`` if given (e.g. a tool-capable one, to script tool calls), else ChatML."""
        return self._chat_template or super().chat_template

    @property
    def remaining(self) -> int:
        """Scripted responses not yet used."""
        return len(self._script) - self._next

    def count_tokens(self, text: str) -> int:
        self._ensure_open()
        return self._count(text)

    def _generate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        self._remember(prompt)
        if self._recording is not None:
            return self._replayed(prompt, config)
        return [self._decode(prompt, self._respond(prompt), config) for _ in range(config.n)]

    def _stream(self, prompt: str, config: GenerationConfig) -> Iterator[str]:
        self._remember(prompt)
        if self._recording is not None:
            return iter(self._recording.chunks(stream_key(prompt, config), f"stream of prompt {_preview(prompt)}"))
        response = self._respond(prompt)
        if config.constraint is not None:
            self._decode(prompt, response, config)  # raises now if the response breaks the constraint
        return _streamed(mock_tokenize(response)[: config.max_new_tokens], StopMatcher.of(config))

    def _remember(self, prompt: str) -> None:
        self.prompts.append(prompt)
        del self.prompts[:-self.max_prompts]  # a long-running mock keeps a bounded history (safe when two calls race)

    def _respond(self, prompt: str) -> str:
        for pattern, response in self._rules:
            if pattern.search(prompt):
                return response(prompt) if callable(response) else response
        if self._next < len(self._script):
            self._next += 1
            return self._script[self._next - 1]
        if self._default is not None:
            return self._default(prompt) if callable(self._default) else self._default
        used = f"all {len(self._script)} scripted responses are used up" if self._script else "it has no script"
        raise BackendError(
            f"mock backend has no response for prompt {_preview(prompt)}: {used} and no rule matched; "
            "add responses, a rule, or a default"
        )

    def _decode(self, prompt: str, response: str, config: GenerationConfig) -> Completion:
        tokens = _tokens(response)
        allowed = tokens[: config.max_new_tokens]
        accept = stop_acceptor(config)
        text, used, stop = _cut_at_stop(allowed, config.stop) if accept is None else _cut_by_matcher(
            allowed, StopMatcher(config.stop, accept))
        finish = "stop" if stop is not None else "length" if len(tokens) > len(allowed) else "eos"
        usage = Usage(prompt_tokens=self.count_tokens(prompt), completion_tokens=used)
        completion = Completion(text=text, finish_reason=finish, stop=stop, usage=usage)  # type: ignore[arg-type]
        _check_constraint(completion, config, f"mock response {_preview(response)}")
        return completion

    def _replayed(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        assert self._recording is not None
        completions = self._recording.completions(recording_key(prompt, config),
                                                  f"completion for prompt {_preview(prompt)}")
        for completion in completions:
            _check_constraint(completion, config, f"recorded completion in {str(self._recording.path)!r}")
        return completions

    def _chat(self, messages: list[Message], config: GenerationConfig, tools: list[ToolSchema] | None,
              tool_choice: ToolChoice) -> list[Completion]:
        if self._recording is None:
            return super()._chat(messages, config, tools, tool_choice)
        what = f"chat reply to {_preview(messages[-1].content if messages else '')}"
        return self._recording.completions(chat_key(messages, config, tools, tool_choice), what)

    def _stream_chat(self, messages: list[Message], config: GenerationConfig) -> Iterator[str]:
        if self._recording is None:
            return super()._stream_chat(messages, config)
        what = f"stream of the reply to {_preview(messages[-1].content if messages else '')}"
        return iter(self._recording.chunks(stream_key(messages, config), what))


def _tokens(response: str) -> tuple[str, ...]:
    """:func:`mock_tokenize`, remembered for short responses: a script answers with the same few again and again."""
    return _remembered_tokens(response) if len(response) <= 4_096 else tuple(mock_tokenize(response))


@functools.lru_cache(maxsize=1024)
def _remembered_tokens(response: str) -> tuple[str, ...]:
    return tuple(mock_tokenize(response))


def _cut_at_stop(tokens: Sequence[str], stops: Sequence[str]) -> tuple[str, int, str | None]:
    """(text, tokens used, stop) as a token-by-token :class:`StopMatcher` would end them, in one pass:
    the stop whose first occurrence is complete after the fewest tokens wins, then the earliest, then
    the longest."""
    text = "".join(tokens)
    if not any(stop in text for stop in stops):
        return text, len(tokens), None
    ends = list(itertools.accumulate(map(len, tokens)))
    best: tuple[tuple[int, int, int], str] | None = None
    for stop in stops:
        at = text.find(stop)
        if at != -1:
            key = (bisect.bisect_left(ends, at + len(stop)), at, -len(stop))
            if best is None or key < best[0]:
                best = (key, stop)
    if best is None:
        return text, len(tokens), None
    (last, at, _), stop = best
    return text[:at], last + 1, stop


def _cut_by_matcher(tokens: Sequence[str], matcher: StopMatcher) -> tuple[str, int, str | None]:
    """(text, tokens used, stop), feeding ``tokens`` one at a time (a matcher whose stops depend on the text)."""
    text = ""
    for used, token in enumerate(tokens, 1):
        text += matcher.feed(token)
        if matcher.stop is not None:
            return text, used, matcher.stop
    return text + matcher.flush(), len(tokens), None


def _streamed(tokens: list[str], matcher: StopMatcher) -> Iterator[str]:
    for token in tokens:
        if chunk := matcher.feed(token):
            yield chunk
        if matcher.stopped:
            return
    if rest := matcher.flush():
        yield rest


def _check_constraint(completion: Completion, config: GenerationConfig, source: str) -> None:
    """A constrained engine ends only where the constraint holds; a cut-off text must still be able to match."""
    if config.constraint is not None:
        config.constraint.verify(completion.text, complete=completion.finish_reason != "length", source=source)


def _preview(prompt: str, limit: int = 60) -> str:
    flat = prompt.replace("\n", "\\n")
    return repr(flat if len(flat) <= limit else "..." + flat[-limit:])
