"""ReActRunner: the paper's Thought / Action / Observation loop with tools (Yao et al., 2023).

Each step completes ``prompt + "Thought i:"`` with the stop ``"\\nObservation i:"``, reads
the action, calls the tool and appends ``Thought i: ... / Action i: ... / Observation i:
...`` to the prompt (appended, never re-rendered, so a prefix cache keeps working).
The loop ends at ``Finish[answer]``; after ``max_steps`` steps, or when the model keeps
repeating the same action with the same result, it ends without an answer and, if a
``fallback`` runner is given (the paper's ReAct -> CoT-SC), hands the question to it.

A malformed action, an unknown tool, invalid arguments or a failing tool become an
observation the model can correct itself from; they never crash the loop.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from promptlab.backends.base import Backend, Completion
from promptlab.chat import Message, ToolCall, ToolSchema
from promptlab.config import GenerationConfig
from promptlab.errors import ConfigError, ContextLengthError
from promptlab.prompts.library import TemplateLibrary
from promptlab.prompts.templates import PromptTemplate
from promptlab.runners._react_effects import CallTool, GenerateOrOverflow, QuestionRunner, RunFallback
from promptlab.runners._sampling import given
from promptlab.runners.flow import Effect, Flow, Generate, ModelCall, Runner
from promptlab.runners.react_parse import ActionParseError, ParsedAction, parse_action, split_thought
from promptlab.runners.result import RunResult
from promptlab.runners.slots import action_constraint, use_constraints
from promptlab.tools import Observation, Tool, ToolRegistry, wikipedia_tools
from promptlab.tools.wikipedia import WIKIPEDIA_API_URL
from promptlab.tracing import TraceRecorder

__all__ = [
    "DEFAULT_CONFIG",
    "FINISH",
    "FINISH_NAMES",
    "PAPER_TOOLS",
    "REPEAT_NOTE",
    "THOUGHT_END",
    "ActionOutcome",
    "Episode",
    "Proposal",
    "ReActRunner",
    "ToolsSpec",
    "Turn",
    "describe_tools",
    "valid_actions",
]

ToolsSpec = Sequence[Tool[Any]] | ToolRegistry | Callable[[], Iterable[Tool[Any]]]
ActionOutcome = tuple[ParsedAction | None, Observation]

DEFAULT_CONFIG = GenerationConfig(max_new_tokens=100, temperature=0.0)
"""The paper's settings: greedy, at most 100 new tokens a step."""
FINISH = "finish"
FINISH_NAMES = frozenset({FINISH, "final_answer"})
THOUGHT_END = "\nAction"
"""Where a constrained step's free thought stops: the action line is generated under the constraint."""
PAPER_TOOLS = frozenset({"search", "lookup"})
REPEAT_NOTE = " (You already did this action and got the same result; try something different.)"


@dataclass(frozen=True, slots=True)
class Turn:
    """One model call of the loop: what was asked and answered."""

    number: int
    thought: str
    prompt: str
    completion: Completion
    latency: float
    sent: dict[str, Any] | None = None
    """What the model sent when it is more than the completion's text (a native tool call), for the trace."""


@dataclass(slots=True)
class Episode:
    """The state of one run of the loop: the question, the tools and the conversation so far.

    The text variant grows ``prompt``; the chat variants grow ``messages``.
    """

    question: str
    tools: ToolRegistry
    prompt: str = ""
    messages: list[Message] = field(default_factory=list)
    schemas: tuple[ToolSchema, ...] = ()
    """The tools as function schemas, for the native variant (built once per episode)."""
    step_configs: Sequence[GenerationConfig] = ()
    """Each step's config for the text variant, with the template's declared stops."""


@dataclass(frozen=True, slots=True)
class Proposal:
    """What one step of the model proposed: the turn, and the action read from it (or why none could be)."""

    turn: Turn
    action: ParsedAction | ActionParseError
    action_text: str = ""
    """The action as written, for the text variant's transcript."""
    call: ToolCall | None = None
    """The native tool call the action came from."""


class ReActRunner(Runner):
    """Answer questions by interleaving reasoning with tool calls, in the paper's text format.

    ``tools``: a list of tools (shared by the runs and reset at the start of each), a
    :class:`ToolRegistry`, or a factory called once per run (needed to run questions
    concurrently with stateful tools). Default: a fresh Wikipedia environment per run at
    ``wiki_url``. ``template``: default ``react_hotpotqa`` (the paper's prompt) when the tools
    are Wikipedia's search and lookup, ``react_tools`` (which lists the tools) otherwise.
    ``examples`` replaces the template's few-shot trajectories (one string).
    ``think=False`` is the paper's act-only variant (pair it with the ``webact`` examples).
    ``constrained``: the thought runs free (it stops where ``Action`` begins), then the action
    line is generated under :func:`~promptlab.runners.slots.action_constraint` (the registered
    tools and their argument shape); None constrains where the backend honours the
    constraint, True insists, False (the default: see BENCHMARKS.md) never.
    """

    strategy = "react"
    slot_kind = "regex"
    """The constraint kind the action slot needs at least (tools with several arguments need a grammar)."""

    def __init__(
        self, backend: Backend, *, tools: ToolsSpec | None = None, template: PromptTemplate | str | None = None,
        examples: str | None = None, config: GenerationConfig | None = None, max_steps: int = 7, think: bool = True,
        fallback: QuestionRunner | None = None, max_observation_chars: int = 2_000, max_question_chars: int = 4_000,
        repeat_limit: int = 3, wiki_url: str = WIKIPEDIA_API_URL, wiki_timeout_s: float = 10.0,
        constrained: bool | None = False, library: TemplateLibrary | None = None, **overrides: Any,
    ) -> None:
        super().__init__(backend)
        for name, value, least in (("max_steps", max_steps, 1), ("repeat_limit", repeat_limit, 2),
                                   ("max_observation_chars", max_observation_chars, 50),
                                   ("max_question_chars", max_question_chars, 1)):
            if value < least:
                raise ConfigError(f"{name} must be at least {least}, got {value}")
        self.max_steps, self.think, self.fallback, self.examples = max_steps, think, fallback, examples
        self.max_observation_chars, self.max_question_chars, self.repeat_limit = (
            max_observation_chars, max_question_chars, repeat_limit)
        self._template = template
        self._library = library
        self._templates: dict[bool, PromptTemplate] = {}
        base = (config or DEFAULT_CONFIG).with_overrides(**given(overrides))
        self._constrained_option = constrained
        self.constrained = use_constraints(constrained, backend, {self.slot_kind}, type(self).__name__)
        # One config per step, built once: the stop names the step's own Observation line; a
        # constrained step's thought also stops where the action would begin.
        thought_stops = (THOUGHT_END,) if self.constrained else ()
        self._base, self._thought_stops = base, thought_stops
        self._step_configs = _step_configs(base, max_steps, thought_stops)
        self._action_config = _with_stops(base, ("\n",))
        self._slot_configs: dict[tuple[str, ...], GenerationConfig | None] = {}
        self._factory, self._shared = _tool_source(tools, wiki_url, wiki_timeout_s)
        self._shared_in_use = False

    # ------------------------------------------------------------------ public API
    def prompt(self, question: str, tools: ToolRegistry | None = None) -> str:
        """The prompt of the first step, exactly as the model sees it (before ``Thought 1:``)."""
        tools = tools if tools is not None else self._shared if self._shared is not None else self._new_tools()
        template = self.template_for(tools)
        variables: dict[str, Any] = {_question_input(template): question}
        if "tools" in template.inputs:
            variables["tools"] = describe_tools(tools)
        if self.examples is not None and "examples" in template.inputs:
            variables["examples"] = self.examples
        return template.render(**variables).rstrip("\n") + "\n"

    def template_for(self, tools: ToolRegistry) -> PromptTemplate:
        """The prompt template used with ``tools``."""
        if isinstance(self._template, PromptTemplate):
            return self._template
        paper = set(t.name.lower() for t in tools) <= PAPER_TOOLS
        if paper not in self._templates:
            name = self._template or ("react_hotpotqa" if paper else "react_tools")
            self._templates[paper] = (self._library or TemplateLibrary.default()).get(name)
        return self._templates[paper]

    def flow(self, question: str, recorder: TraceRecorder) -> Flow:
        if len(question) > self.max_question_chars:
            raise ConfigError(f"the question has {len(question)} characters, more than max_question_chars="
                              f"{self.max_question_chars}; shorten it or raise the limit")
        tools = self._acquire_tools()
        try:
            recorder.trace.metadata.update(tools=tools.names, max_steps=self.max_steps)
            status = yield from self._loop(question, tools, recorder)
        finally:
            if tools is self._shared:
                self._shared_in_use = False
        if status == "ok":
            answer = recorder.trace.answer
            return RunResult(answer=answer, status="ok", trace=recorder.finish(answer, "ok"))
        if self.fallback is not None:
            return (yield from self._fall_back(question, status, recorder))
        return RunResult(answer=None, status=status, trace=recorder.finish(None, status))

    # ------------------------------------------------------------------ the loop
    def _loop(self, question: str, tools: ToolRegistry, recorder: TraceRecorder) -> Generator[Effect, Any, str]:
        """Run the steps; returns the status ("ok" with ``recorder.trace.answer`` set, or why not).

        One loop for every variant: :meth:`begin` sets up the episode, :meth:`propose` asks the
        model and reads its action, :meth:`_act` calls the tool, :meth:`_record` traces the step
        and :meth:`observe` hands the observation back to the model.
        """
        episode = self.begin(question, tools)
        repeats: dict[tuple[str, str, str], int] = {}
        for i in range(1, self.max_steps + 1):
            proposal = yield from self.propose(episode, i, recorder)
            if isinstance(proposal, str):
                return proposal
            outcome = yield from self._act(proposal.action, tools)
            text, status = self._record(proposal.turn, outcome, repeats, recorder)
            if text is None:
                return status or "ok"
            self.observe(episode, proposal, text)
            if status is not None:
                return status
        return "max_steps"

    def begin(self, question: str, tools: ToolRegistry) -> Episode:
        """The episode before the first step (here: the first prompt and the steps' configs)."""
        return Episode(question, tools, prompt=self.prompt(question, tools), step_configs=self.step_configs(tools))

    def step_configs(self, tools: ToolRegistry) -> Sequence[GenerationConfig]:
        """Each step's config with ``tools``' template: the step's Observation line and the template's
        declared stops (``stop`` in its metadata, e.g. ``react_math``'s next ``Question:``), unless the
        runner's config names its own stops."""
        declared = () if self._base.stop else tuple(self.template_for(tools).metadata.get("stop") or ())
        return _step_configs(self._base, self.max_steps, (*declared, *self._thought_stops))  # cached per process

    def propose(self, episode: Episode, i: int, recorder: TraceRecorder) -> Generator[Effect, Any, Proposal | str]:
        """Ask the model for step ``i`` and read its action; a status string when the model cannot be asked."""
        label = f"Thought {i}:" if self.think else f"Action {i}:"
        step_prompt = episode.prompt + label
        slot = self.slot_config(episode.tools)
        config = (episode.step_configs or self._step_configs)[i - 1] if self.think or slot is None else slot
        reply = yield from self._ask(Generate(step_prompt, config), step_prompt, recorder)
        if isinstance(reply, str):
            return reply
        completion, latency = reply
        thought, action_text = split_thought(completion.text) if self.think else ("", _first_line(completion.text))
        if not action_text and self.think:
            # Constrained: the thought is done and the action follows under the constraint. Otherwise
            # the paper's recovery: keep the thought's first line and ask for the action alone.
            note = "thought; the action follows constrained" if slot else "no action in the completion; asking for it"
            recorder.add("generate", prompt=step_prompt, completion=completion.text, **_usage(completion),
                         latency_s=latency, data={"step": i, "note": note})
            thought = thought if slot is not None and completion.stop == THOUGHT_END else _first_line(thought)
            step_prompt = f"{step_prompt} {thought}\nAction {i}:"
            reply = yield from self._ask(Generate(step_prompt, slot or self._action_config), step_prompt, recorder)
            if isinstance(reply, str):
                return reply
            completion, latency = reply
            action_text = _first_line(completion.text)
        action_text = action_text or ""
        try:
            action: ParsedAction | ActionParseError = parse_action(action_text)
        except ActionParseError as exc:
            action = exc
        return Proposal(Turn(i, thought, step_prompt, completion, latency), action, action_text)

    def slot_config(self, tools: ToolRegistry) -> GenerationConfig | None:
        """The config of a constrained action for ``tools`` (None when unconstrained), built once per tool set."""
        if not self.constrained:
            return None
        key = tuple(tools.names)
        if key not in self._slot_configs:
            constraint = action_constraint(tools)
            on = use_constraints(self._constrained_option, self.backend, {constraint.kind}, type(self).__name__)
            self._slot_configs[key] = self._action_config.with_overrides(constraint=constraint) if on else None
        return self._slot_configs[key]

    def observe(self, episode: Episode, proposal: Proposal, observation: str) -> None:
        """Hand the observation back: append the step to the prompt (never re-rendered, so a prefix cache works)."""
        turn = proposal.turn
        label = f"Thought {turn.number}:" if self.think else f"Action {turn.number}:"
        episode.prompt += (f"{label} {turn.thought}\nAction {turn.number}: {proposal.action_text}\n"
                           f"Observation {turn.number}: {observation}\n" if self.think
                           else f"{label} {proposal.action_text}\nObservation {turn.number}: {observation}\n")

    def _ask(self, call: ModelCall, shown: str, recorder: TraceRecorder
             ) -> Generator[Effect, Any, tuple[Completion, float] | str]:
        """One model call: the first completion and its latency, or ``"context_length"`` (recorded) on overflow."""
        started = time.perf_counter()
        reply = yield GenerateOrOverflow(call)
        if isinstance(reply, ContextLengthError):
            recorder.add("error", prompt=shown, observation=str(reply))
            return "context_length"
        return reply[0], time.perf_counter() - started

    def _record(self, step: Turn, outcome: ActionOutcome, repeats: dict[tuple[str, str, str], int],
                recorder: TraceRecorder) -> tuple[str | None, str | None]:
        """Record a step: ``(observation text, None)`` to go on, ``(text, status)`` to stop after it, or
        ``(None, status)`` when the action was finish (status "ok" with the answer set, or "no_answer")."""
        action, observation = outcome
        data: dict[str, Any] = {"step": step.number, "thought": step.thought, "observation_kind": observation.kind}
        if step.sent is not None:
            data["sent"] = step.sent
        completion = step.completion
        if action is not None and action.name.lower() in FINISH_NAMES:
            answer = _answer_of(action)
            recorder.add("action", prompt=step.prompt, completion=completion.text, action=action.as_dict(),
                         **_usage(completion), latency_s=step.latency, data=data)
            if not answer:
                return None, "no_answer"
            recorder.trace.answer = answer
            return None, None
        text = self._observation_text(observation, data)
        key = (action.name.lower(), _argument_key(action.argument), text) if action is not None else None
        if key is not None:
            seen = repeats[key] = repeats.get(key, 0) + 1
            if seen > 1:
                text += REPEAT_NOTE
                data["repeated"] = seen
        recorder.add("action", prompt=step.prompt, completion=completion.text,
                     action=action.as_dict() if action is not None else None, observation=text,
                     **_usage(completion), latency_s=step.latency + observation.duration_s, data=data)
        return text, "repeated_action" if key is not None and repeats[key] >= self.repeat_limit else None

    def _act(self, action: ParsedAction | ActionParseError, tools: ToolRegistry
             ) -> Generator[Effect, Any, ActionOutcome]:
        """Call the action's tool; a parse error or an unknown tool is a corrective observation."""
        if isinstance(action, ActionParseError):
            return None, Observation(f"{action} {self.hint(tools)}", "invalid_arguments")
        if action.name.lower() in FINISH_NAMES:
            return action, Observation("")
        found = tools.get(action.name)
        if found is None:
            return action, Observation(f"Invalid action: there is no tool {action.name!r}. {self.hint(tools)}",
                                       "unknown_tool")
        observation: Observation = yield CallTool(found, action.argument)
        return action, observation

    def hint(self, tools: ToolRegistry) -> str:
        """What a corrective observation says the valid actions are."""
        return valid_actions(tools)

    def _observation_text(self, observation: Observation, data: dict[str, Any]) -> str:
        text = observation.text.strip()
        limit = self.max_observation_chars
        if len(text) <= limit:
            return text
        data["truncated_from"] = len(text)
        return f"{text[:limit]} [observation truncated: {len(text)} characters, showing the first {limit}]"

    def _fall_back(self, question: str, status: str, recorder: TraceRecorder) -> Flow:
        assert self.fallback is not None
        recorder.add("fallback", observation=f"ReAct ended with status {status!r}; asking the fallback runner",
                     data={"react_status": status})
        result: RunResult = yield RunFallback(self.fallback, question)
        for step in result.trace.steps:
            recorder.add(step.kind, **step.model_dump(exclude={"index", "kind", "started_at", "data"}),
                         data={**step.data, "fallback": result.trace.strategy})
        recorder.trace.metadata["fallback"] = {"strategy": result.trace.strategy, "react_status": status}
        trace = recorder.finish(result.answer, result.status)
        return RunResult(answer=result.answer, status=result.status, trace=trace, votes=result.votes,
                         agreement=result.agreement)

    # ------------------------------------------------------------------ tools
    def _acquire_tools(self) -> ToolRegistry:
        if self._shared is None:
            return self._new_tools()
        if self._shared_in_use:
            raise ConfigError("this runner's tools are shared and already in use by another run; "
                              "pass a factory (tools=lambda: [...]) to run questions concurrently")
        self._shared_in_use = True
        self._shared.reset()
        return self._shared

    def _new_tools(self) -> ToolRegistry:
        assert self._factory is not None
        return _registry(self._factory())


def describe_tools(tools: ToolRegistry) -> str:
    """The tools as actions for the prompt: ``(1) Calculator[expression]: Evaluate ...``."""
    return "\n".join(f"({n}) {_action_form(t)}: {t.description}" for n, t in enumerate(tools, start=1))


def valid_actions(tools: ToolRegistry) -> str:
    """A corrective hint listing the actions, e.g. ``Valid actions: Search[entity], ..., Finish[answer].``"""
    return f"Valid actions: {', '.join([*(_action_form(t) for t in tools), 'Finish[answer]'])}."


def _action_form(item: Tool[Any]) -> str:
    arguments = "|".join(item.args_model.model_fields) or ""
    return f"{item.name[:1].upper()}{item.name[1:]}[{arguments}]"


def _question_input(template: PromptTemplate) -> str:
    if "question" in template.inputs:
        return "question"
    required = template.required_inputs
    if not required:
        raise ConfigError(f"template {template.name!r} has no input for the question")
    return required[0]


def _tool_source(tools: ToolsSpec | None, wiki_url: str, wiki_timeout_s: float
                 ) -> tuple[Callable[[], Iterable[Tool[Any]]] | None, ToolRegistry | None]:
    if tools is None:
        return (lambda: wikipedia_tools(wiki_url, timeout_s=wiki_timeout_s)), None
    if isinstance(tools, Tool):
        raise ConfigError(f"tools must be a list of tools, a ToolRegistry or a factory; got the tool "
                          f"{tools.name!r} alone: pass [{tools.name}]")
    if isinstance(tools, ToolRegistry) or not callable(tools):
        return None, _registry(tools)
    return tools, None


def _registry(tools: Iterable[Tool[Any]]) -> ToolRegistry:
    registry = tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools)
    if any(name in registry for name in FINISH_NAMES):
        raise ConfigError("'finish' is the ReAct loop's own action; rename the tool called 'finish'")
    return registry


def _answer_of(action: ParsedAction) -> str:
    argument = action.argument
    if isinstance(argument, dict):
        argument = str(next(iter(argument.values()), "")) if len(argument) == 1 else json.dumps(argument)
    return argument.strip()


def _argument_key(argument: str | dict[str, Any]) -> str:
    return argument if isinstance(argument, str) else json.dumps(argument, sort_keys=True, default=str)


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


def _usage(completion: Completion) -> dict[str, int]:
    usage = completion.usage
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "cached_prompt_tokens": usage.cached_prompt_tokens}


def _step_configs(base: GenerationConfig, max_steps: int, extra_stops: tuple[str, ...]
                  ) -> Sequence[GenerationConfig]:
    """Step i's config: ``base`` stopping at its own Observation line (and ``extra_stops``), one list per process."""
    try:
        return _step_configs_cached(base, max_steps, extra_stops)
    except TypeError:  # a config holding a dict (a JSON schema constraint) is not hashable
        return [base.with_overrides(stop=(*base.stop, f"\nObservation {i}:", *extra_stops))
                for i in range(1, max_steps + 1)]


@functools.lru_cache(maxsize=256)
def _step_configs_cached(base: GenerationConfig, max_steps: int, extra_stops: tuple[str, ...]
                         ) -> tuple[GenerationConfig, ...]:
    return tuple(base.with_overrides(stop=(*base.stop, f"\nObservation {i}:", *extra_stops))
                 for i in range(1, max_steps + 1))


def _with_stops(base: GenerationConfig, stops: tuple[str, ...]) -> GenerationConfig:
    """``base`` with ``stops`` added, validated once per process (a request handler builds a runner per question)."""
    try:
        return _with_stops_cached(base, stops)
    except TypeError:  # a config holding a dict (a JSON schema constraint) is not hashable
        return base.with_overrides(stop=(*base.stop, *stops))


@functools.lru_cache(maxsize=1024)
def _with_stops_cached(base: GenerationConfig, stops: tuple[str, ...]) -> GenerationConfig:
    return base.with_overrides(stop=(*base.stop, *stops))
