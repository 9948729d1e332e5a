"""The PAL program grammar: it accepts PAL's own programs and refuses the ways small models break them."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from promptlab.errors import ConfigError
from promptlab.prompts.library import TemplateLibrary
from promptlab.runners.pal_grammar import program_grammar
from tests.runners.grammar_matching import Acceptor

DATA = Path(__file__).resolve().parents[1] / "data" / "pal"
GOOD = '''def solution():
    """Olivia has $23. She bought five bagels for $3 each."""
    money_initial = 23
    bagels = 5
    money_spent = bagels * 3  # five bagels
    result = money_initial - money_spent
    return result'''


@pytest.fixture(scope="module")
def grammar() -> Acceptor:
    return Acceptor(program_grammar())


def _few_shot_programs() -> list[str]:
    examples = TemplateLibrary.default().get("pal_gsm").inputs["examples"].default
    return [example["program"] for example in examples]


def test_accepts_the_eight_pal_few_shot_programs(grammar: Acceptor) -> None:
    programs = _few_shot_programs()
    assert len(programs) == 8
    assert grammar.rejected(programs) == []


def test_accepts_every_gsm8k_pal_program(grammar: Acceptor) -> None:
    records = [json.loads(line) for line in (DATA / "gsmhard_programs.jsonl").read_text().splitlines()]
    assert len(records) == 1319
    rejected = [r["line"] for r in records if not grammar.accepts(r["code"].strip("\n"))]
    assert rejected == []


def test_a_completion_may_end_with_pal_s_stop_newlines(grammar: Acceptor) -> None:
    assert grammar.accepts(GOOD + "\n\n\n")
    assert not grammar.accepts(GOOD + "\n\n\n\n")


@pytest.mark.parametrize("broken", [
    pytest.param(GOOD.replace("    bagels = 5", "     bagels = 5"), id="over-indented line"),
    pytest.param(GOOD.replace("    bagels = 5", "  bagels = 5"), id="indentation changes width"),
    pytest.param(GOOD.replace("    bagels = 5", "bagels = 5"), id="line outside the function"),
    pytest.param(GOOD.replace("    bagels = 5", "    First we count the bagels."), id="prose between lines"),
    pytest.param(GOOD.replace("bagels * 3", "(bagels * 3"), id="unclosed bracket"),
    pytest.param(GOOD.replace('"""Olivia', '"""Olivia\n').replace('each."""', 'each.'), id="unclosed docstring"),
    pytest.param(GOOD.rsplit("\n", 1)[0], id="no return"),
    pytest.param(GOOD.replace("def solution():", "def solution(x):"), id="parameters"),
    pytest.param(GOOD.replace("def solution():", "def answer():"), id="another function name"),
    pytest.param("Here is the program:\n" + GOOD, id="prose before"),
    pytest.param(GOOD + "\nprint(solution())", id="code after the function"),
    pytest.param(GOOD + "\n\nQ: Tom has 3 apples", id="the next question"),
    pytest.param("```python\n" + GOOD + "\n```", id="fenced, when bare is asked"),
    pytest.param(GOOD.replace("bagels * 3", "bagels ** * 3"), id="operator soup"),
    pytest.param(GOOD.replace("    result = money_initial", "    if money_initial > 0:\n    result = money_initial"),
                 id="empty block"),
])
def test_refuses_malformed_programs(grammar: Acceptor, broken: str) -> None:
    assert not grammar.accepts(broken)


def test_every_refused_indentation_is_one_python_refuses_too() -> None:
    """The grammar is about what compiles: the indentation cases it refuses are Python errors."""
    for broken in (GOOD.replace("    bagels = 5", "     bagels = 5"), GOOD.replace("    bagels = 5", "bagels = 5")):
        with pytest.raises(SyntaxError):
            ast.parse(broken)


def test_control_flow_helpers_and_multi_line_brackets() -> None:
    program = '''import math
def solution():
    def area(width, height):
        return width * height
    total = 0
    for i in range(3):
        if i % 2 == 0 and not i > 5:
            total += area(i, 2)
        elif i in [1, 2]:
            continue
        else:
            break
    while total < 10:
        total = total + 1
    values = [x * 2 for x in range(4) if x]
    parts = (
        total +
        sum(values))
    return round(math.sqrt(parts), 2) if parts else -1'''
    ast.parse(program)
    assert Acceptor(program_grammar()).accepts(program)


def test_fenced_variant_for_chat_prompts_and_another_entry() -> None:
    fenced = Acceptor(program_grammar("answer", fenced=True))
    program = GOOD.replace("def solution", "def answer")
    assert fenced.accepts("```python\n" + program + "\n```")
    assert fenced.accepts("```\n" + program + "\n```")
    assert not fenced.accepts(program)


@pytest.mark.parametrize("entry", ["2x", "class", "solution()", ""])
def test_entry_must_be_an_identifier(entry: str) -> None:
    with pytest.raises(ConfigError, match="identifier"):
        program_grammar(entry)
