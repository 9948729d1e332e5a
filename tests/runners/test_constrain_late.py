"""Runners reason free and constrain late: CoT's answer slot, PAL's program grammar, the constrained= switch."""

from __future__ import annotations

import dataclasses
import re

import pytest

from promptlab.backends import MockBackend
from promptlab.backends.base import Completion
from promptlab.backends.llamacpp import LlamaCppBackend
from promptlab.config import GenerationConfig
from promptlab.constraints import Grammar, Regex
from promptlab.errors import ConfigError, UnsupportedKnobError
from promptlab.runners import ChainOfThoughtRunner, PALRunner
from promptlab.runners.pal_grammar import program_grammar

PROGRAM = "def solution():\n    money = 23\n    spent = 5 * 3\n    return money - spent"


class ConstrainingMock(MockBackend):
    """A scripted mock that declares constraint support and keeps each call's config."""

    capabilities = dataclasses.replace(MockBackend.capabilities, constraints=frozenset({"regex", "grammar"}))

    def __init__(self, responses: list[str]) -> None:
        super().__init__(responses)
        self.configs: list[GenerationConfig] = []

    def _generate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        self.configs.append(config)
        return super()._generate(prompt, config)


class PlainMock(MockBackend):
    capabilities = dataclasses.replace(MockBackend.capabilities, constraints=frozenset())


def test_cot_reasons_free_then_constrains_only_the_answer() -> None:
    backend = ConstrainingMock([" 5 bagels cost 5 x 3 = 15 dollars. 23 - 15 = 8. The answer is 8 dollars.", " 8."])
    runner = ChainOfThoughtRunner(backend, constrained=None)
    assert runner.constrained
    result = runner.run("Olivia has $23. She bought five bagels for $3 each. How much money does she have left?")
    assert (result.answer, result.status) == ("8", "ok")
    free, slot = backend.configs
    assert free.constraint is None and "The answer is" in free.stop
    assert isinstance(slot.constraint, Regex) and slot.max_new_tokens <= 32
    assert backend.prompts[1] == backend.prompts[0] + " 5 bagels cost 5 x 3 = 15 dollars. 23 - 15 = 8. The answer is"
    kinds = [step.kind for step in result.trace.steps]
    assert kinds == ["generate", "answer"]
    assert result.trace.steps[0].completion == " 5 bagels cost 5 x 3 = 15 dollars. 23 - 15 = 8. "
    assert result.trace.steps[1].completion == " 8."
    assert result.trace.metadata["constrained"] is True


def test_cot_without_the_cue_keeps_the_free_completion_and_makes_no_second_call() -> None:
    backend = ConstrainingMock([" 23 - 15 = 8 dollars left.\n\nQ: next", " 23 - 14 = 9. The answer is 9", " 9."])
    result = ChainOfThoughtRunner(backend, n=2, constrained=True).run("How much is left?")
    assert len(backend.configs) == 2  # the two rationales in one call, then the one answer slot
    assert result.votes == {"8": 1, "9": 1}
    assert [step.kind for step in result.trace.steps] == ["generate", "generate", "answer", "vote"]


def test_cot_constrained_false_and_templates_without_a_cue() -> None:
    backend = ConstrainingMock([" 2 + 2 = 4. The answer is 4."])
    result = ChainOfThoughtRunner(backend, constrained=False).run("2 + 2?")
    assert result.answer == "4" and len(backend.configs) == 1 and backend.configs[0].constraint is None
    assert not ChainOfThoughtRunner(backend, template="direct").constrained
    with pytest.raises(ConfigError, match="answer_cue"):
        ChainOfThoughtRunner(backend, template="direct", constrained=True)


def test_auto_is_off_where_the_backend_cannot_constrain_and_true_says_so() -> None:
    assert not ChainOfThoughtRunner(PlainMock(), constrained=None).constrained
    assert not ChainOfThoughtRunner(ConstrainingMock([])).constrained  # opt-in: not measured to help yet
    assert not PALRunner(PlainMock()).constrained
    with pytest.raises(UnsupportedKnobError, match="grammar"):
        PALRunner(PlainMock(), constrained=True)


def test_pal_generates_under_the_program_grammar() -> None:
    backend = ConstrainingMock([PROGRAM])
    result = PALRunner(backend).run("Olivia has $23 and spends 5 x $3. How much is left?")
    assert (result.answer, result.status) == ("8", "ok")
    constraint = backend.configs[0].constraint
    assert isinstance(constraint, Grammar) and constraint == program_grammar()
    assert result.trace.metadata["constrained"] is True


def test_pal_with_the_chat_template_expects_a_fenced_program() -> None:
    backend = ConstrainingMock(["```python\n" + PROGRAM + "\n```"])
    result = PALRunner(backend, template="pal_chat").run("How much is left?")
    assert result.answer == "8"
    assert backend.configs[0].constraint == program_grammar(fenced=True)



@pytest.mark.slow
def test_pal_on_the_embedded_model_writes_a_program_that_compiles(llamacpp_backend: LlamaCppBackend) -> None:
    runner = PALRunner(llamacpp_backend, max_new_tokens=160)
    assert runner.constrained
    result = runner.run("Tom has 5 apples and buys 7 more. How many apples does he have now?")
    program = result.trace.steps[0].completion or ""
    assert program.startswith("def solution():")
    compile(program, "<pal>", "exec")  # the grammar's promise: whatever it returns, it compiles


@pytest.mark.slow
def test_cot_on_the_embedded_model_constrains_only_the_answer(llamacpp_backend: LlamaCppBackend) -> None:
    # the arithmetic check off: it may correct the slot's number ("12 - 15 is 10" answers -3)
    runner = ChainOfThoughtRunner(llamacpp_backend, max_new_tokens=96, constrained=True, check_arithmetic=False)
    assert runner.constrained
    result = runner.run("Olivia has $23. She bought five bagels for $3 each. How much money does she have left?")
    slots = [step for step in result.trace.steps if step.kind == "answer"]
    assert len(slots) == 1  # greedy: the rationale writes "The answer is", then the slot is constrained
    assert re.fullmatch(r" \$?-?[0-9][0-9,]*(\.[0-9]+)?\.", slots[0].completion or "")
    assert result.answer == (slots[0].completion or "").strip(" .$")
    checking = ChainOfThoughtRunner(llamacpp_backend, max_new_tokens=96, constrained=True)
    checked = checking.run(result.trace.question)
    rationale, slot = (step.completion or "" for step in checked.trace.steps[:2])
    assert checked.answer == checking.ballot(rationale + "The answer is" + slot).answer
