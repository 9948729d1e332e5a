"""ReActRunner: the loop's behaviour with a scripted model and in-memory tools."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from promptlab.backends import MockBackend
from promptlab.config import GenerationConfig
from promptlab.errors import BackendUnavailableError, ConfigError, ContextLengthError
from promptlab.runners.react import ReActRunner
from promptlab.runners.result import RunResult
from promptlab.tools import Calculator, Tool, tool
from promptlab.tracing import TraceRecorder, read_traces


@tool
def search(entity: str) -> str:
    """Search the exact entity on Wikipedia.

    Args:
        entity: the page title.
    """
    if entity == "explode":
        raise RuntimeError("the index is corrupt")
    return f"{entity} is a page about {entity.lower()}."


@tool
def lookup(keyword: str) -> str:
    """Return the next sentence containing the keyword."""
    return f"(Result 1 / 1) A sentence with {keyword}."


def runner(responses: list[str], **options: object) -> tuple[ReActRunner, MockBackend]:
    mock = MockBackend(responses)
    options.setdefault("tools", [search, lookup])
    return ReActRunner(mock, **options), mock  # type: ignore[arg-type]


def test_loop_appends_steps_and_ends_at_finish() -> None:
    react, mock = runner([
        " I should search Paris.\nAction 1: Search[Paris]\nObservation 1: invented by the model",
        " Paris is a page.\nAction 2: Finish[France]",
    ])
    result = react.run("Where is Paris?")
    assert (result.answer, result.status, result.ok) == ("France", "ok", True)
    first, second = mock.prompts
    assert first == react.prompt("Where is Paris?") + "Thought 1:"
    assert first.startswith(react.template_for(react._shared).render(question="Where is Paris?"))  # type: ignore[arg-type]
    assert second == (first + " I should search Paris.\nAction 1: Search[Paris]\n"
                      "Observation 1: Paris is a page about paris.\nThought 2:")
    steps = result.trace.steps
    assert [s.kind for s in steps] == ["action", "action"]
    assert steps[0].action == {"tool": "Search", "argument": "Paris"}
    assert steps[0].observation == "Paris is a page about paris."
    assert steps[0].data["thought"] == "I should search Paris."
    assert steps[0].prompt == first and steps[0].completion.startswith(" I should search Paris.")
    assert steps[0].prompt_tokens > 0 and steps[0].completion_tokens > 0
    assert steps[1].action == {"tool": "Finish", "argument": "France"}
    assert result.trace.answer == "France" and result.trace.status == "ok"


def test_generation_stops_at_the_steps_observation() -> None:
    seen: list[GenerationConfig] = []

    class Spy(MockBackend):
        def _generate(self, prompt: str, config: GenerationConfig):  # type: ignore[no-untyped-def]
            seen.append(config)
            return super()._generate(prompt, config)

    react = ReActRunner(Spy([" a\nAction 1: Search[x]", " b\nAction 2: Finish[y]"]), tools=[search])
    react.run("q?")
    assert [c.stop for c in seen] == [("\nObservation 1:",), ("\nObservation 2:",)]
    assert seen[0].max_new_tokens == 100 and seen[0].temperature == 0.0


def test_missing_action_is_asked_for_like_the_paper() -> None:
    react, mock = runner([" I will search Paris.\nSomething else", "Search[Paris]", " ok\nAction 2: Finish[x]"])
    result = react.run("q?")
    assert result.answer == "x"
    assert mock.prompts[1].endswith("Thought 1: I will search Paris.\nAction 1:")
    assert "Thought 1: I will search Paris.\nAction 1: Search[Paris]\nObservation 1: Paris is a page" in \
        mock.prompts[2]
    assert [s.kind for s in result.trace.steps] == ["generate", "action", "action"]


def test_garbage_and_unknown_tools_get_corrective_observations() -> None:
    react, mock = runner([
        " hmm\nAction 1: ???",
        " try\nAction 2: Translate[Paris]",
        " ok\nAction 3: Finish[done]",
    ])
    result = react.run("q?")
    assert result.answer == "done"
    first, second = (s.observation for s in result.trace.steps[:2])
    assert first is not None and first.startswith("Could not read the action '???'.")
    assert "Valid actions: Search[entity], Lookup[keyword], Finish[answer]." in first
    assert second == ("Invalid action: there is no tool 'Translate'. "
                      "Valid actions: Search[entity], Lookup[keyword], Finish[answer].")
    assert result.trace.steps[1].data["observation_kind"] == "unknown_tool"
    assert f"Observation 2: {second}\n" in mock.prompts[2]


def test_invalid_arguments_and_raising_tools_do_not_stop_the_loop() -> None:
    react, _ = runner([
        " a\nAction 1: Search[explode]",
        ' b\nAction 2: Search{"entity": 3}',
        " c\nAction 3: Finish[fine]",
    ])
    result = react.run("q?")
    assert result.answer == "fine"
    raised, invalid = result.trace.steps[:2]
    assert raised.data["observation_kind"] == "error"
    assert raised.observation == "search failed: RuntimeError: the index is corrupt"
    assert invalid.data["observation_kind"] == "invalid_arguments"
    assert "entity: Input should be a valid string" in (invalid.observation or "")


def test_a_model_that_never_finishes_stops_at_max_steps() -> None:
    react = ReActRunner(MockBackend(default=" thinking\nAction 1: Lookup[more]"), tools=[search, lookup],
                        max_steps=4, repeat_limit=10)
    result = react.run("q?")
    assert (result.answer, result.status) == (None, "max_steps")
    assert len(result.trace.steps) == 4
    assert result.trace.status == "max_steps"


def test_repeated_action_is_noted_then_stops_the_loop() -> None:
    react, mock = runner([" s\nAction 1: Search[Paris]"] * 3 + [" never reached"], repeat_limit=3)
    result = react.run("q?")
    assert result.status == "repeated_action"
    observations = [s.observation for s in result.trace.steps]
    assert observations[0] == "Paris is a page about paris."
    assert observations[1] is not None and observations[1].endswith("try something different.)")
    assert result.trace.steps[2].data["repeated"] == 3
    assert len(mock.prompts) == 3


def test_long_observations_are_truncated_with_a_note() -> None:
    @tool
    def dump(what: str) -> str:
        """Returns a lot."""
        return "x" * 5000

    react = ReActRunner(MockBackend([" a\nAction 1: Dump[it]", " b\nAction 2: Finish[ok]"]), tools=[dump],
                        max_observation_chars=100)
    result = react.run("q?")
    observation = result.trace.steps[0].observation or ""
    assert observation == "x" * 100 + " [observation truncated: 5000 characters, showing the first 100]"
    assert result.trace.steps[0].data["truncated_from"] == 5000


@pytest.mark.parametrize(("question", "message"), [("", "empty"), ("  \n", "empty"), ("x" * 5000, "5000 characters")])
def test_bad_questions_are_clear_errors(question: str, message: str) -> None:
    react, mock = runner([])
    with pytest.raises(ConfigError, match=message):
        react.run(question)
    assert mock.prompts == []


def test_empty_finish_is_no_answer() -> None:
    react, _ = runner([" give up\nAction 1: Finish[]"])
    assert react.run("q?").status == "no_answer"


def test_fallback_answers_when_react_fails() -> None:
    class Fallback:
        def __init__(self) -> None:
            self.asked: list[str] = []

        def run(self, question: str) -> RunResult:
            self.asked.append(question)
            recorder = TraceRecorder("cot", question)
            recorder.add("generate", prompt="p", completion="so the answer is Paris", data={"answer": "Paris"})
            return RunResult(answer="Paris", status="ok", trace=recorder.finish("Paris", "ok"),
                             votes={"Paris": 2, "Rome": 1}, agreement=2 / 3)

    fallback = Fallback()
    react = ReActRunner(MockBackend(default=" hmm\nAction 1: Lookup[x]"), tools=[lookup], max_steps=2,
                        fallback=fallback)
    result = react.run("Capital of France?")
    assert fallback.asked == ["Capital of France?"]
    assert (result.answer, result.status, result.votes, result.agreement) == ("Paris", "ok", {"Paris": 2, "Rome": 1},
                                                                               2 / 3)
    kinds = [s.kind for s in result.trace.steps]
    assert kinds == ["action", "action", "fallback", "generate"]
    assert result.trace.steps[2].data == {"react_status": "max_steps"}
    assert result.trace.steps[3].data == {"answer": "Paris", "fallback": "cot"}
    assert result.trace.metadata["fallback"] == {"strategy": "cot", "react_status": "max_steps"}


def test_fallback_is_not_used_when_react_answers() -> None:
    class Never:
        def run(self, question: str) -> RunResult:
            raise AssertionError("fallback called")

    react, _ = runner([" a\nAction 1: Finish[yes]"], fallback=Never())
    assert react.run("q?").answer == "yes"


def test_react_to_cot_self_consistency_with_the_papers_cot_prompt() -> None:
    from promptlab.runners.cot import ChainOfThoughtRunner

    mock = MockBackend(rules=[
        (r"Thought: Let's think step by step\.$", " Paris is in France, so the answer is France.\nAnswer: France"),
        (r"Thought \d+:$", " I keep looking.\nAction 1: Lookup[capital]"),
    ])
    cot = ChainOfThoughtRunner(mock, template="cot_hotpotqa", n=3, extractor=r"Answer:\s*(.+)")
    react = ReActRunner(mock, tools=[lookup], max_steps=2, fallback=cot)
    result = react.run("Which country is Paris in?")
    assert (result.answer, result.status) == ("France", "ok")
    assert result.votes == {"France": 3}
    assert mock.prompts[-1].endswith("Question: Which country is Paris in?\nThought: Let's think step by step.")


def test_context_overflow_ends_the_loop() -> None:
    class Small(MockBackend):
        def _generate(self, prompt: str, config: GenerationConfig):  # type: ignore[no-untyped-def]
            if "Thought 2:" in prompt:
                raise ContextLengthError("the prompt has 9000 tokens, more than the context of 8192")
            return super()._generate(prompt, config)

    result = ReActRunner(Small(default=" a\nAction 1: Search[x]"), tools=[search]).run("q?")
    assert (result.status, result.answer) == ("context_length", None)
    assert "more than the context" in (result.trace.steps[-1].observation or "")


def test_backend_outage_propagates_with_a_closed_trace() -> None:
    class Down(MockBackend):
        def _generate(self, prompt: str, config: GenerationConfig):  # type: ignore[no-untyped-def]
            raise BackendUnavailableError("server at http://127.0.0.1:1 is down")

    sink = io.StringIO()
    with pytest.raises(BackendUnavailableError):
        ReActRunner(Down(), tools=[search]).run("q?", trace=sink)
    events = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert events[-1] == {"event": "end", "answer": None, "status": "error"}


def test_trace_streams_to_jsonl(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "trace.jsonl"
    react, _ = runner([" a\nAction 1: Search[Paris]", " b\nAction 2: Finish[France]"])
    result = react.run("q?", trace=path)
    (trace,) = read_traces(path)
    assert trace.answer == "France" and trace.status == "ok"
    assert [s.action for s in trace.steps] == [s.action for s in result.trace.steps]
    assert trace.metadata["backend"] == "mock"


def test_act_only_variant() -> None:
    react, mock = runner([" Search[Paris]", " Finish[France]"], think=False)
    result = react.run("q?")
    assert result.answer == "France"
    assert mock.prompts[0].endswith("Question: q?\nAction 1:")
    assert mock.prompts[1].endswith("Action 1: Search[Paris]\nObservation 1: Paris is a page about paris.\nAction 2:")


def test_json_tool_calls_in_the_text_format() -> None:
    react = ReActRunner(MockBackend([
        ' compute\nAction 1: {"tool": "calculator", "arguments": {"expression": "(1800 + 7000) / 2"}}',
        " done\nAction 2: Finish[4400]",
    ]), tools=[Calculator()])
    result = react.run("Midpoint of 1,800 and 7,000?")
    assert result.trace.steps[0].observation == "4400"
    assert result.answer == "4400"


def test_other_tools_get_a_prompt_that_lists_them() -> None:
    react = ReActRunner(MockBackend([]), tools=[Calculator(), search])
    prompt = react.prompt("q?")
    assert "(1) Calculator[expression]: Evaluate an arithmetic expression" in prompt
    assert "(2) Search[entity]: Search the exact entity on Wikipedia." in prompt
    paper = ReActRunner(MockBackend([]), tools=[search, lookup]).prompt("q?")
    assert paper.startswith("Solve a question answering task with interleaving Thought, Action, Observation steps.")
    assert "(1) Search[entity], which searches the exact entity on Wikipedia" in paper


def test_shared_tools_refuse_concurrent_runs_but_factories_allow_them() -> None:
    class Slow(MockBackend):
        async def _agenerate(self, prompt: str, config: GenerationConfig):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0.01)
            return self._generate(prompt, config)

    async def both(react: ReActRunner) -> list[RunResult | BaseException]:
        return await asyncio.gather(react.arun("a?"), react.arun("b?"), return_exceptions=True)

    shared = ReActRunner(Slow(default=" x\nAction 1: Finish[y]"), tools=[search])
    outcomes = asyncio.run(both(shared))
    assert sum(isinstance(o, ConfigError) for o in outcomes) == 1
    assert shared.run("again?").answer == "y"  # released after the run

    fresh = ReActRunner(Slow(default=" x\nAction 1: Finish[y]"), tools=lambda: [search])
    assert [o.answer for o in asyncio.run(both(fresh))] == ["y", "y"]  # type: ignore[union-attr]


def test_a_tool_named_finish_is_refused() -> None:
    @tool
    def finish(answer: str) -> str:
        """Ends."""
        return answer

    with pytest.raises(ConfigError, match="'finish'"):
        ReActRunner(MockBackend([]), tools=[finish])


def test_a_single_tool_instead_of_a_list_is_refused() -> None:
    with pytest.raises(ConfigError, match="list of tools"):
        ReActRunner(MockBackend([]), tools=search)  # type: ignore[arg-type]


@pytest.mark.parametrize("option", [{"max_steps": 0}, {"repeat_limit": 1}, {"max_observation_chars": 10}])
def test_bad_options_are_config_errors(option: dict[str, int]) -> None:
    with pytest.raises(ConfigError):
        ReActRunner(MockBackend([]), tools=[search], **option)  # type: ignore[arg-type]


def test_tools_are_reset_at_each_run() -> None:
    resets: list[int] = []

    class Counter(Tool):  # type: ignore[type-arg]
        name, description, args_model = "count", "Counts.", search.args_model

        def run(self, args: object) -> str:
            return "1"

        def reset(self) -> None:
            resets.append(1)

    react = ReActRunner(MockBackend(default=" x\nAction 1: Finish[y]"), tools=[Counter()])
    react.run("a?")
    react.run("b?")
    assert len(resets) == 2


def test_wikipedia_down_or_slow_becomes_an_observation_and_the_loop_goes_on() -> None:
    import socket
    import time

    from promptlab.tools import LocalWikipedia

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/w/api.php"
    script = [" s\nAction 1: Search[Paris]", " it failed\nAction 2: Finish[unknown]"]
    down = ReActRunner(MockBackend(script), wiki_url=closed, wiki_timeout_s=1).run("q?")
    assert down.answer == "unknown"
    assert (down.trace.steps[0].observation or "").startswith("Could not reach Wikipedia at http://127.0.0.1:")

    with LocalWikipedia({"Paris": "Paris is the capital of France."}, delay_s=2.0) as slow:
        started = time.perf_counter()
        result = ReActRunner(MockBackend(script), wiki_url=slow.api_url, wiki_timeout_s=0.3).run("q?")
        assert time.perf_counter() - started < 1.5
    assert result.trace.steps[0].data["observation_kind"] == "error"
    assert "did not answer within 0.3 s" in (result.trace.steps[0].observation or "")
    assert result.answer == "unknown"


def test_a_template_declared_stop_ends_each_step_unless_the_config_names_its_own() -> None:
    # react_math declares "\nQuestion:": the model's made-up next question is cut off, so its action
    # there is never taken; the runner asks for this question's action instead.
    rambling = " 2 and 3 make 5.\nQuestion: What is 4 + 4?\nThought 1: 8.\nAction 1: Finish[8]"
    react = ReActRunner(MockBackend([rambling, "Finish[5]"]), tools=[Calculator()], template="react_math")
    result = react.run("What is 2 + 3?")
    assert result.answer == "5"
    assert react.step_configs(react._shared)[0].stop == ("\nObservation 1:", "\nQuestion:")  # type: ignore[arg-type]
    own = ReActRunner(MockBackend([rambling]), tools=[Calculator()], template="react_math", stop=["\nQ:"])
    assert own.run("What is 2 + 3?").answer == "8", "the caller's stops replace the template's"
    plain = ReActRunner(MockBackend([]), tools=[search, lookup])
    assert plain.step_configs(plain._shared)[0].stop == ("\nObservation 1:",)  # type: ignore[arg-type]
