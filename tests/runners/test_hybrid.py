"""HybridRunner: one vote over PAL programs and CoT rationales."""

from __future__ import annotations

import pytest

from promptlab.backends.mock import MockBackend
from promptlab.errors import ConfigError
from promptlab.runners import HybridRunner

PROGRAM = "def solution():\n    return 21 - 15"


def backend(program: str = PROGRAM, rationale: str = "21 - 15 = 6. The answer is 6.") -> MockBackend:
    return MockBackend(rules=[(r"# solution in Python:\s*$", program)], default=rationale)


def test_votes_mix_executed_programs_and_rationales() -> None:
    result = HybridRunner(backend(rationale="The answer is 7."), n=3).run("How many trees were planted?")
    assert result.answer == "7" and result.votes == {"7": 2, "6": 1}
    vote = result.trace.steps[-1]
    assert vote.data["sources"] == ["cot", "pal", "cot"]  # CoT leads, then they alternate
    assert [s.kind for s in result.trace.steps].count("execute") == 1


def test_pal_can_lead_the_vote() -> None:
    result = HybridRunner(backend(rationale="The answer is 7."), n=3, lead="pal").run("How many trees were planted?")
    assert result.answer == "6" and result.votes == {"6": 2, "7": 1}
    assert result.trace.steps[-1].data["sources"] == ["pal", "cot", "pal"]
    with pytest.raises(ConfigError, match="lead must be 'cot' or 'pal'"):
        HybridRunner(MockBackend(), lead="both")  # type: ignore[arg-type]


def test_greedy_vote_takes_one_greedy_answer_from_each() -> None:
    llm = backend()
    result = HybridRunner(llm, n=4, greedy_vote=True, adaptive=False, seed=1).run("q")
    assert result.samples == 4 and result.votes == {"6": 4}
    greedy = [s for s in result.trace.steps if s.data.get("greedy")]
    assert len(greedy) == 2 and len(llm.prompts) == 4  # 2 greedy calls, then one PAL and one CoT call
    is_pal = ["# solution in Python:" in prompt for prompt in llm.prompts]
    assert is_pal == [False, True, True, False]  # the second round starts where the first ended: one cache switch


def test_pal_share_sets_how_many_votes_are_programs() -> None:
    runner = HybridRunner(MockBackend(), n=4, pal_share=0.75)
    assert [runner.uses_pal(i) for i in range(8)] == [False, True, True, True] * 2
    runner = HybridRunner(MockBackend(), n=4, pal_share=0.75, lead="pal")
    assert [runner.uses_pal(i) for i in range(8)] == [True, True, True, False] * 2
    assert all(HybridRunner(MockBackend(), pal_share=1.0).uses_pal(i) for i in range(4))
    with pytest.raises(ConfigError, match="pal_share"):
        HybridRunner(MockBackend(), pal_share=0.0)


QUESTION = "Tom had 21 apples and ate 15. How many are left?"


def test_adaptive_hybrid_stops_when_both_agree() -> None:
    result = HybridRunner(backend(), n=8, adaptive={"trust_grounded": False}).run(QUESTION)
    assert result.answer == "6" and result.samples == 4
    assert result.trace.steps[-1].data["stopped"]["reason"] == "decided"


def test_adaptive_hybrid_stops_at_a_grounded_rationale_that_agrees() -> None:
    """PAL leads; the greedy rationale computes 6 from the question's 21 and 15: the vote stops after
    the greedy pair."""
    result = HybridRunner(backend(), n=8, adaptive=True, lead="pal").run(QUESTION)
    assert result.answer == "6" and result.samples == 2
    assert result.trace.steps[-1].data["stopped"]["reason"] == "grounded"


def test_no_valid_answer_from_either_says_why() -> None:
    result = HybridRunner(backend(program="def solution():\n    return x", rationale="No idea."), n=2).run("q")
    assert result.answer is None
    assert result.detail is not None and "1 sandbox_error" in result.detail and "1 no_answer" in result.detail
    assert result.trace.steps[-1].data["reasons"][0].startswith("no answer found")  # CoT leads


def test_default_pair_runs_the_program_only_when_the_rationale_is_ungrounded() -> None:
    """The defaults (n=2, CoT leads, greedy vote, adaptive): a grounded greedy rationale cannot be
    overtaken by one more vote (a tie goes to the first seen), so the program is not run."""
    llm = backend()
    result = HybridRunner(llm).run(QUESTION)
    assert result.answer == "6" and result.samples == 1 and len(llm.prompts) == 1
    assert result.trace.steps[-1].data["stopped"]["reason"] == "decided"


def test_an_executed_program_outweighs_an_ungrounded_rationale() -> None:
    """7 is computed from nothing the question gives: it weighs 0.25, and the program's 6 wins."""
    llm = backend(rationale="3 + 4 = 7. The answer is 7.")
    result = HybridRunner(llm).run(QUESTION)
    assert result.answer == "6" and result.samples == 2 and len(llm.prompts) == 2
    vote = result.trace.steps[-1].data
    assert vote["sources"] == ["cot", "pal"] and vote["weights"] == [0.25, 1.0]


def test_an_ungrounded_rationale_stands_when_the_program_fails() -> None:
    llm = backend(program="def solution():\n    return x", rationale="3 + 4 = 7. The answer is 7.")
    result = HybridRunner(llm).run(QUESTION)
    assert result.answer == "7" and result.samples == 2
    assert result.trace.steps[-1].data["answers"] == ["7", None]


def test_without_grounding_the_rationale_always_decides() -> None:
    llm = backend(rationale="3 + 4 = 7. The answer is 7.")
    result = HybridRunner(llm, ungrounded_weight=1.0).run(QUESTION)
    assert result.answer == "7" and len(llm.prompts) == 1


def test_pal_lead_asks_cot_only_when_the_program_fails() -> None:
    """With PAL leading, its greedy answer cannot be overtaken by one more vote, so the rationale is
    drawn only when the program gives no answer."""
    works = backend(rationale="The answer is 7.")
    result = HybridRunner(works, lead="pal").run("q")
    assert result.answer == "6" and result.samples == 1 and len(works.prompts) == 1
    assert result.trace.steps[-1].data["stopped"]["reason"] == "decided"

    fails = backend(program="def solution():\n    return x", rationale="The answer is 7.")
    result = HybridRunner(fails, n=2, lead="pal", greedy_vote=True, adaptive=True).run("q")
    assert result.answer == "7" and result.samples == 2 and len(fails.prompts) == 2
    assert result.trace.steps[-1].data["sources"] == ["pal", "cot"]


def test_without_adaptive_the_greedy_pair_always_asks_both() -> None:
    llm = backend(rationale="The answer is 7.")
    result = HybridRunner(llm, n=2, greedy_vote=True, adaptive=False).run("q")
    assert result.answer == "7" and result.votes == {"7": 1, "6": 1} and len(llm.prompts) == 2


@pytest.mark.parametrize(("lead", "share"), [("cot", 0.25), ("cot", 1.0), ("pal", 0.75), ("cot", 0.5)])
def test_each_runner_numbers_its_samples_once(lead: str, share: float) -> None:
    """The greedy round casts one vote of each runner (sample 0); each runner's samples go on from 1."""
    llm = backend(rationale="3 + 4 = 7. The answer is 7.")
    result = HybridRunner(llm, n=6, adaptive=False, lead=lead, pal_share=share).run(QUESTION)  # type: ignore[arg-type]
    numbers: dict[bool, list[int]] = {True: [], False: []}
    for step in result.trace.steps:
        if step.kind == "generate":
            numbers["def solution" in (step.completion or "")].append(step.data["sample"])
    assert all(sorted(found) == list(range(len(found))) for found in numbers.values()), numbers


def test_pal_share_is_kept_exactly_whichever_runner_leads() -> None:
    for lead in ("cot", "pal"):
        runner = HybridRunner(MockBackend(), lead=lead, pal_share=0.7)
        assert sum(runner.uses_pal(i) for i in range(10)) == 7 and sum(runner.uses_pal(i) for i in range(20)) == 14


def test_a_grounded_greedy_rationale_ends_a_larger_adaptive_vote() -> None:
    """As in the CoT runner: a grounded greedy answer stops the vote (n > 2), no program is written."""
    llm = backend(program="def solution():\n    return 7")
    result = HybridRunner(llm, n=4).run(QUESTION)
    assert result.answer == "6" and result.samples == 1 and len(llm.prompts) == 1
    assert result.trace.steps[-1].data["stopped"]["reason"] == "grounded"
