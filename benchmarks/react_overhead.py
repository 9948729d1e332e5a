"""Orchestration overhead per ReAct step: promptlab against LangChain, DSPy, smolagents and a bare loop.

Every framework runs the same episode with a scripted model (no inference) and one
trivial tool: 7 steps that call ``echo`` and an 8th that finishes, so the time measured is
the framework's own work per step: prompt/message building, parsing, tool dispatch,
validation, trace/memory records. Frameworks run round-robin in one process so that
machine noise hits all of them alike; the figure is the median over rounds.

    .venv/bin/python benchmarks/react_overhead.py [--rounds 15] [--episodes 20] [--profile]

Peers come from the ``bench`` extra (``pip install -e ".[bench]"``); a missing peer is
reported and skipped. DSPy makes one extra model call per episode after ``finish`` (its
answer-extraction step); that time is included, divided over the same 8 steps.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import platform
import pstats
import re
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if TYPE_CHECKING:
    from promptlab.tools import Tool

STEPS = 8
ANSWER = "done"
Episode = Callable[[], str]


# ---------------------------------------------------------------------------------- promptlab
def _promptlab_replies(action: str) -> list[str]:
    replies = [f" step {i}\nAction {i}: {action}[x{i}]" for i in range(1, STEPS)]
    return [*replies, f" that is all\nAction {STEPS}: Finish[{ANSWER}]"]


def _echo_tool() -> Tool[Any]:
    """The one trivial tool of every promptlab episode."""
    from promptlab.tools import tool

    @tool
    def echo(text: str) -> str:
        """Return the text unchanged.

        Args:
            text: what to echo.
        """
        return text

    return echo


def promptlab_episode() -> Episode:
    """A one-line template and one runner reused for every question: the floor of the loop itself."""
    from promptlab.backends.base import Backend, Capabilities, Completion
    from promptlab.config import GenerationConfig
    from promptlab.prompts import PromptTemplate
    from promptlab.runners.react import ReActRunner

    replies = _promptlab_replies("Echo")

    class ScriptedBackend(Backend):
        """promptlab's counterpart of LangChain's FakeListLLM: the next reply, nothing else."""

        name = "scripted"
        capabilities = Capabilities()

        def __init__(self) -> None:
            self.calls = 0

        def _generate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
            text = replies[self.calls % len(replies)]
            self.calls += 1
            return [Completion(text=text, finish_reason="stop", stop=config.stop[-1])]

        def count_tokens(self, text: str) -> int:
            return 0

    echo = _echo_tool()

    template = PromptTemplate.from_string("Answer with the tools.\nQuestion: {{ question }}\n")
    runner = ReActRunner(ScriptedBackend(), tools=[echo], template=template, max_steps=STEPS + 2)
    return lambda: str(runner.run("q").answer)


def promptlab_default_episode() -> Episode:
    """What a request handler does: a runner built per question with the default paper prompt
    (``react_hotpotqa``, six few-shot trajectories) on the MockBackend, which counts the prompt's tokens."""
    from promptlab.backends.mock import MockBackend
    from promptlab.runners.react import ReActRunner
    from promptlab.tools import tool

    replies = _promptlab_replies("Search")
    calls = iter(range(10**12))
    backend = MockBackend(default=lambda prompt: replies[next(calls) % STEPS])

    @tool
    def search(entity: str) -> str:
        """Return the entity unchanged.

        Args:
            entity: what to search for.
        """
        return entity

    def run() -> str:
        runner = ReActRunner(backend, tools=[search], max_steps=STEPS + 2)
        return str(runner.run("q").answer)

    return run


# ---------------------------------------------------------------------------------- bare loop
def promptlab_native_episode() -> Episode:
    """The same episode with native tool calls: each reply is a checked ToolCall, results go back as tool turns."""
    from promptlab.backends.base import Backend, Capabilities, Completion, ToolChoice
    from promptlab.backends.tool_calls import checked_call
    from promptlab.chat import Message, ToolSchema
    from promptlab.config import GenerationConfig
    from promptlab.runners.react_native import ToolCallingReActRunner

    calls = [("echo", f'{{"text": "x{i}"}}') for i in range(1, STEPS)] + [("finish", f'{{"answer": "{ANSWER}"}}')]

    class ScriptedChatBackend(Backend):
        """A server-like backend: the next tool call, checked against the tools' schemas as a server's would be."""

        name = "scripted-chat"
        capabilities = Capabilities()

        def __init__(self) -> None:
            self.calls = 0

        def _generate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
            raise NotImplementedError

        def _chat(self, messages: list[Message], config: GenerationConfig, tools: list[ToolSchema] | None,
                  tool_choice: ToolChoice) -> list[Completion]:
            name, arguments = calls[self.calls % len(calls)]
            self.calls += 1
            made = checked_call(f"call_{self.calls}", name, arguments, tools or [])
            return [Completion(text="", finish_reason="tool_calls", tool_calls=(made,))]

        @property
        def tool_calling(self) -> bool:
            return True

        def count_tokens(self, text: str) -> int:
            return 0

    echo = _echo_tool()

    runner = ToolCallingReActRunner(ScriptedChatBackend(), tools=[echo], max_steps=STEPS + 2)
    return lambda: str(runner.run("q").answer)


def bare_episode() -> Episode:
    replies = [f" step {i}\nAction {i}: Echo[x{i}]" for i in range(1, STEPS)]
    replies.append(f" that is all\nAction {STEPS}: Finish[{ANSWER}]")
    action = re.compile(r"Action \d+: (\w+)\[(.*)\]")
    tools: dict[str, Callable[[str], str]] = {"Echo": lambda text: text}

    def run() -> str:
        prompt = "Answer with the tools.\nQuestion: q\n"
        for i, reply in enumerate(replies, start=1):
            match = action.search(reply)
            assert match is not None
            name, argument = match.groups()
            if name == "Finish":
                return argument
            prompt += f"Thought {i}:{reply}\nObservation {i}: {tools[name](argument)}\n"
        return ""

    return run


# ---------------------------------------------------------------------------------- peers
def langchain_episode() -> Episode:
    from langchain_classic.agents import AgentExecutor, create_react_agent
    from langchain_core.language_models import FakeListLLM
    from langchain_core.prompts import PromptTemplate
    from langchain_core.tools import Tool

    echo = Tool(name="echo", func=lambda text: text, description="Return the text unchanged.")
    prompt = PromptTemplate.from_template(
        "Answer with the tools.\n{tools}\nTool names: {tool_names}\nQuestion: {input}\n{agent_scratchpad}")
    replies = [f"Thought: step {i}\nAction: echo\nAction Input: x{i}" for i in range(1, STEPS)]
    replies.append(f"Thought: that is all\nFinal Answer: {ANSWER}")
    agent = create_react_agent(FakeListLLM(responses=replies), [echo], prompt)
    executor = AgentExecutor(agent=agent, tools=[echo], max_iterations=STEPS + 2)
    return lambda: str(executor.invoke({"input": "q"})["output"])


def dspy_episode() -> Episode:
    import dspy
    from dspy.utils import DummyLM

    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    answers: list[dict[str, object]] = [
        {"next_thought": f"step {i}", "next_tool_name": "echo", "next_tool_args": {"text": f"x{i}"}}
        for i in range(1, STEPS)
    ]
    answers.append({"next_thought": "that is all", "next_tool_name": "finish", "next_tool_args": {}})
    answers.append({"reasoning": "echoed", "answer": ANSWER})
    react = dspy.ReAct("question -> answer", tools=[echo], max_iters=STEPS + 2)

    def run() -> str:
        with dspy.context(lm=DummyLM(answers)):
            return str(react(question="q").answer)

    return run


def smolagents_episode() -> Episode:
    from smolagents import ToolCallingAgent, tool
    from smolagents.models import ChatMessage, ChatMessageToolCall, ChatMessageToolCallFunction, MessageRole, Model

    @tool
    def echo(text: str) -> str:
        """Return the text unchanged.

        Args:
            text: what to echo.
        """
        return text

    class ScriptedModel(Model):
        def __init__(self) -> None:
            super().__init__(model_id="scripted")
            self.calls = 0

        def generate(self, messages: object, stop_sequences: object = None, response_format: object = None,
                     tools_to_call_from: object = None, **kwargs: object) -> ChatMessage:
            i = self.calls % STEPS
            self.calls += 1
            name, arguments = ("echo", {"text": f"x{i}"}) if i < STEPS - 1 else ("final_answer", {"answer": ANSWER})
            call = ChatMessageToolCall(function=ChatMessageToolCallFunction(name=name, arguments=arguments),
                                       id=f"call_{i}", type="function")
            return ChatMessage(role=MessageRole.ASSISTANT, content="", tool_calls=[call])

    agent = ToolCallingAgent(tools=[echo], model=ScriptedModel(), max_steps=STEPS + 2, verbosity_level=-1)
    return lambda: str(agent.run("q"))


FRAMEWORKS: dict[str, Callable[[], Episode]] = {
    "promptlab ReActRunner (minimal template, reused runner)": promptlab_episode,
    "promptlab ReActRunner (default paper prompt, runner per question)": promptlab_default_episode,
    "promptlab ToolCallingReActRunner": promptlab_native_episode,
    "smolagents ToolCallingAgent": smolagents_episode,
    "LangChain classic AgentExecutor": langchain_episode,
    "DSPy ReAct": dspy_episode,
    "bare hand-written loop": bare_episode,
}
BARE = "bare hand-written loop"
PROMPTLAB_ROWS = tuple(name for name in FRAMEWORKS if name.startswith("promptlab"))


# ---------------------------------------------------------------------------------- measuring
def measure(episodes: dict[str, Episode], rounds: int, per_round: int) -> dict[str, list[float]]:
    """Seconds per step, one sample per round, frameworks interleaved round by round."""
    samples: dict[str, list[float]] = {name: [] for name in episodes}
    for _ in range(rounds):
        for name, episode in episodes.items():
            started = time.perf_counter()
            for _ in range(per_round):
                episode()
            samples[name].append((time.perf_counter() - started) / (per_round * STEPS))
    return samples


def profile(episode: Episode, count: int) -> str:
    """cProfile of ``count`` promptlab episodes: the functions with the most own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        episode()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="samples per framework (median reported)")
    parser.add_argument("--episodes", type=int, default=20, help="episodes per sample for the fast frameworks")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of promptlab's episodes")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    episodes: dict[str, Episode] = {}
    for name, make in FRAMEWORKS.items():
        try:
            episode = make()
            with contextlib.redirect_stdout(io.StringIO()):
                answer = episode()
        except ImportError as exc:
            print(f"skipped {name}: {exc} (pip install -e '.[bench]')", file=sys.stderr)
            continue
        if answer != ANSWER:
            raise SystemExit(f"{name} answered {answer!r}, expected {ANSWER!r}: the script is wrong")
        for _ in range(3):  # warm caches and lazy imports
            episode()
        episodes[name] = episode

    fast = {n: e for n, e in episodes.items() if n in (*PROMPTLAB_ROWS, BARE)}
    slow = {n: e for n, e in episodes.items() if n not in fast}
    per_step = measure(fast, args.rounds, args.episodes * 10) | measure(slow, args.rounds, max(1, args.episodes // 4))
    medians = {name: statistics.median(values) for name, values in per_step.items()}

    peers = [n for n in medians if n not in (*PROMPTLAB_ROWS, BARE)]
    fastest_peer = min(peers, key=medians.__getitem__) if peers else None
    print(f"ReAct orchestration overhead, {STEPS} steps per episode, scripted model, one trivial tool")
    print(f"Python {platform.python_version()} on {platform.machine()}, {args.rounds} rounds, median per step\n")
    print("| framework | µs per step | x bare loop | x fastest peer |")
    print("|---|---:|---:|---:|")
    for name in sorted(medians, key=medians.__getitem__):
        vs_bare = f"{medians[name] / medians[BARE]:.0f}" if BARE in medians else "-"
        vs_peer = f"{medians[name] / medians[fastest_peer]:.3f}" if fastest_peer else "-"
        print(f"| {name} | {medians[name] * 1e6:,.1f} | {vs_bare} | {vs_peer} |")
    if fastest_peer:
        target = medians[fastest_peer] / 10
        print(f"\nTarget: promptlab <= 1/10 of the fastest peer ({fastest_peer}) = {target * 1e6:,.1f} µs per step:")
        for name in (n for n in PROMPTLAB_ROWS if n in medians):
            verdict = "met" if medians[name] <= target else "MISSED"
            print(f"- {name}: {verdict} ({medians[name] * 1e6:,.1f} µs)")
    if args.profile:
        for name in (n for n in PROMPTLAB_ROWS if n in episodes):
            print(f"\n{name}\n" + profile(episodes[name], 500))


if __name__ == "__main__":
    main()
