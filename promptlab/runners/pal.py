"""Program-aided LM (Gao et al., 2022): the model writes ``solution()``, the sandbox runs it.

Bad programs never raise: a completion without code, code that does not compile or
fails, a missing ``solution`` or a value that cannot be returned each end as a sample
status (``no_code``, ``sandbox_error``, ``sandbox_timeout``, ``sandbox_memory``,
``sandbox_forbidden``, ``no_answer``) that the result reports when no sample succeeds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator
from dataclasses import dataclass
from functools import partial
from typing import Any

from promptlab.backends.base import Backend, Completion
from promptlab.chat import Message
from promptlab.config import GenerationConfig
from promptlab.errors import ConfigError
from promptlab.prompts.library import TemplateLibrary
from promptlab.prompts.templates import PromptTemplate
from promptlab.runners._prompting import Examples, as_selector, render, resolve_template, with_stops
from promptlab.runners._sampling import (
    Adaptive,
    Ballot,
    SamplingPlan,
    one_sample_configs,
    record_samples,
    round_config,
    sample,
    sampling_config,
    self_consistency,
)
from promptlab.runners.answers import format_number, normalize_answer
from promptlab.runners.code import extract_code
from promptlab.runners.flow import Effect, Flow, Prompt, Runner, prompt_text
from promptlab.runners.pal_grammar import program_grammar
from promptlab.runners.pal_scoped import scoped_program
from promptlab.runners.slots import use_constraints
from promptlab.sandbox import Sandbox, SandboxResult, default_sandbox
from promptlab.tracing import TraceRecorder

__all__ = ["RETRY_SUFFIX", "Attempt", "Execute", "PALRunner", "answer_from_value", "attempt_of"]

RETRY_SUFFIX = "\n\n# That program failed: {error}\n# A corrected solution in Python:\n\n\n"
"""Appended to prompt + failed program to ask again; ``{error}`` is the sandbox's message."""


@dataclass(frozen=True)
class Execute(Effect):
    """Run a program in the sandbox and call ``call()``; the flow receives a SandboxResult."""

    code: str
    call: str = "solution"
    timeout: float | None = None
    memory_mb: int | None = None
    sandbox: Sandbox | None = None

    def perform(self, backend: Backend) -> SandboxResult:
        sandbox = self.sandbox or default_sandbox()
        return sandbox.run(self.code, self.call, timeout=self.timeout, memory_mb=self.memory_mb)


@dataclass(frozen=True)
class Attempt:
    """One program's outcome: its answer, or why there is none."""

    status: str
    answer: str | None = None
    error: str | None = None
    code: str | None = None


def answer_from_value(value: Any) -> str | None:
    """The canonical answer for ``solution()``'s value (numbers as in :func:`format_number`)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, str):
        return normalize_answer(value) or None
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def attempt_of(code: str, result: SandboxResult) -> Attempt:
    """Turn a sandbox result into an attempt with a runner status."""
    if not result.ok:
        return Attempt(f"sandbox_{result.status}", error=result.error or result.status, code=code)
    answer = answer_from_value(result.value)
    if answer is None:
        return Attempt("no_answer", error="solution() returned no value; it must return the answer", code=code)
    return Attempt("ok", answer=answer, code=code)


class PALRunner(Runner):
    """The model writes a Python ``solution()`` for the question; its return value is the answer.

    ``n > 1`` samples ``n`` programs (the self-consistency defaults unless a temperature is
    set), runs each, and votes over the executed answers (failed programs do not vote);
    ``greedy_vote`` and ``adaptive`` work as in :class:`~promptlab.runners.cot.ChainOfThoughtRunner`.
    ``max_retries`` > 0 shows the model
    its failed program with the sandbox's error and asks again, per sample.
    ``timeout`` / ``memory_mb`` bound each sandbox run (None: the sandbox's defaults); pass your
    own ``sandbox`` to run programs in its worker rather than the shared default one.
    ``constrained``: generate each program under the grammar of a ``def solution():`` body
    (:mod:`~promptlab.runners.pal_grammar`); None (default) does so where the backend
    honours grammars, True insists, False never. ``scoped=True`` writes each program one line
    at a time instead, each line able to read only the names already assigned
    (:mod:`~promptlab.runners.pal_scoped`: no ``NameError``, straight-line programs only; needs
    a text template and a backend that honours grammars).
    """

    strategy = "pal"

    def __init__(self, backend: Backend, *, template: PromptTemplate | str = "pal_gsm", examples: Examples = None,
                 config: GenerationConfig | None = None, n: int = 1, greedy_vote: bool = False,
                 adaptive: Adaptive | bool | dict[str, Any] | None = None, max_retries: int = 0, call: str = "solution",
                 timeout: float | None = None, memory_mb: int | None = None, sandbox: Sandbox | None = None,
                 constrained: bool | None = None, scoped: bool = False, library: TemplateLibrary | None = None,
                 **overrides: Any) -> None:
        super().__init__(backend)
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
        if timeout is not None and timeout <= 0:
            raise ConfigError(f"timeout must be > 0 seconds, got {timeout}")
        self.template = resolve_template(template, library)
        self.examples = as_selector(examples)
        self.scoped = scoped
        if scoped:
            if constrained:
                raise ConfigError("scoped=True writes each line under its own grammar: leave constrained unset")
            if self.template.kind != "text":
                raise ConfigError(f"scoped PAL writes after a text prompt; {self.template.name!r} is a chat template")
            use_constraints(True, backend, {"grammar"}, "PALRunner(scoped=True)")
        self.constrained = not scoped and use_constraints(constrained, backend, {"grammar"}, "PALRunner")
        if self.constrained:
            overrides = {**overrides, "constraint": program_grammar(call, fenced=self.template.kind == "chat")}
        self.config = sampling_config(with_stops(config or GenerationConfig(max_new_tokens=512), self.template),
                                      n, overrides)
        self.plan = SamplingPlan.of(n, greedy_vote, adaptive)
        self.max_retries = max_retries
        self.call = call
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.sandbox = sandbox

    def prompt(self, question: str) -> str:
        """The exact prompt sent for ``question``."""
        return prompt_text(self.backend, render(self.template, self.examples, question))

    def flow(self, question: str, recorder: TraceRecorder) -> Flow:
        recorder.trace.metadata["constrained"] = "scoped" if self.scoped else self.constrained
        draw = partial(self.draw, render(self.template, self.examples, question), recorder)
        return (yield from self_consistency(draw, self.plan, recorder))

    def draw(self, prompt: Prompt, recorder: TraceRecorder, first: int, count: int, greedy: bool
             ) -> Generator[Effect, Any, list[Ballot]]:
        """Sample ``count`` programs (numbered from ``first``; one greedy if ``greedy``), run each, return the votes."""
        config = round_config(self.config, first, count, greedy)
        completions, elapsed = yield from self._sample(prompt, config)
        record_samples(recorder, prompt_text(self.backend, prompt), completions, elapsed,
                       [{"greedy": True} if greedy else {}] * len(completions), first=first)
        ballots = []
        for index, completion in enumerate(completions, start=first):
            attempt = yield from self._solve(prompt, completion.text, index, recorder, config.with_overrides(n=1))
            ballots.append(Ballot(attempt.answer, attempt.status, attempt.error, self.strategy))
        return ballots

    def _solve(self, prompt: Prompt, text: str, index: int, recorder: TraceRecorder, config: GenerationConfig
               ) -> Generator[Effect, Any, Attempt]:
        retry = 0
        while True:
            attempt = yield from self._execute(text, index, retry, recorder)
            if attempt.status == "ok" or retry >= self.max_retries:
                return attempt
            retry += 1
            retry_prompt = self.retry_prompt(prompt, attempt.code or text, attempt.error or attempt.status)
            completions, elapsed = yield from self._sample(retry_prompt, config)
            record_samples(recorder, prompt_text(self.backend, retry_prompt), completions, elapsed,
                           [{"retry_of": index, "retry": retry}], kind="retry")
            text = completions[0].text

    def _sample(self, prompt: Prompt, config: GenerationConfig
                ) -> Generator[Effect, Any, tuple[list[Completion], float]]:
        """``config.n`` programs and the wall time: sampled whole, or (scoped) line by line, seeds offset per sample."""
        if not self.scoped:
            return (yield from sample(self.backend, prompt, config))
        assert isinstance(prompt, str)  # a scoped runner has a text template
        started = time.perf_counter()
        completions = []
        for one in one_sample_configs(config):
            completions.append((yield from scoped_program(prompt, one, self.call)))
        return completions, time.perf_counter() - started

    def _execute(self, text: str, index: int, retry: int, recorder: TraceRecorder
                 ) -> Generator[Effect, Any, Attempt]:
        code = extract_code(text, self.call)
        if code is None:
            attempt = Attempt("no_code", error=f"no Python code found; write a function {self.call}() "
                                               "that returns the answer")
            recorder.add("execute", observation=attempt.error, data={"sample": index, "retry": retry,
                                                                     "status": attempt.status})
            return attempt
        result: SandboxResult = yield Execute(code, self.call, self.timeout, self.memory_mb, self.sandbox)
        attempt = attempt_of(code, result)
        recorder.add("execute", action={"code": code}, observation=attempt.answer or attempt.error,
                     latency_s=result.duration_s,
                     data={"sample": index, "retry": retry, "status": attempt.status,
                           "sandbox": result.model_dump(mode="json")})
        return attempt

    @staticmethod
    def retry_prompt(prompt: Prompt, failed: str, error: str) -> Prompt:
        """The prompt that shows the model its failed program and the error (in a conversation: as two more turns)."""
        message = " ".join(error.split())
        if isinstance(prompt, str):
            return prompt + failed.rstrip() + RETRY_SUFFIX.format(error=message)
        follow_up = RETRY_SUFFIX.format(error=message).strip().replace("# ", "")
        return (*prompt, Message(role="assistant", content=failed.rstrip()), Message(role="user", content=follow_up))
