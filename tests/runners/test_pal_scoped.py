"""Scoped PAL: programs written a line at a time, each line reading only the names already assigned."""

from __future__ import annotations

import dataclasses

import pytest

from promptlab.backends.mock import MockBackend
from promptlab.errors import ConfigError, ConstraintViolationError, UnsupportedKnobError
from promptlab.runners.pal import PALRunner
from promptlab.runners.pal_scoped import header_grammar, line_grammar

HEADER = 'def solution():\n    """Olivia has $23. She spends $15. How much is left?"""\n'
LINES = ["\n    money = 23\n", "\n    spent = 15\n    ", "\n    left = money - spent\n", "\n    return left\n"]


def test_a_line_reads_only_names_already_assigned() -> None:
    grammar = line_grammar(["money", "spent"])
    assert grammar.check("\n    left = money - spent\n")
    assert grammar.check("\n    left = (money - spent) * 2\n    ")  # the next line's indentation may come along
    assert not grammar.check("\n    left = money  # a comment\n")
    assert grammar.check("\n    return money\n")
    assert not grammar.check("\n    left = money - bagels\n")  # never assigned
    assert not grammar.check("\n    money = money_before + 8\n")
    assert not grammar.check("\n    def = 9\n")  # a keyword is no name
    assert not grammar.check("\n    print(money)\n")


def test_before_any_assignment_there_is_nothing_to_read_or_return() -> None:
    grammar = line_grammar([])
    assert grammar.check("\n    money = 23\n")
    assert not grammar.check("\n    money = money + 8\n")
    assert not grammar.check("\n    return money\n")


def test_at_the_line_limit_only_a_return_is_left() -> None:
    grammar = line_grammar(["left"], must_return=True)
    assert grammar.check("\n    return left\n")
    assert not grammar.check("\n    more = left + 1\n")


def test_the_header_is_the_exemplars_first_two_lines() -> None:
    assert header_grammar().check(HEADER)
    assert not header_grammar().check("def solution():\n    money = 23\n")


def test_a_scoped_program_is_asked_line_by_line_and_runs() -> None:
    model = MockBackend([HEADER, *LINES])
    result = PALRunner(model, scoped=True).run("Olivia has $23. She spends $15. How much is left?")
    assert (result.answer, result.status) == ("8", "ok")
    program = HEADER[:-1] + "".join(line.rstrip(" ")[:-1] for line in LINES)  # a line brings its leading newline
    assert len(model.prompts) == 5 and model.prompts[-1].endswith(program.rsplit("\n", 1)[0])
    assert result.trace.steps[0].completion == program
    assert result.trace.metadata["constrained"] == "scoped"


def test_a_line_reading_an_undefined_name_cannot_be_produced() -> None:
    model = MockBackend([HEADER, "\n    money = 23\n", "\n    left = money - spent\n"])
    with pytest.raises(ConstraintViolationError):
        PALRunner(model, scoped=True).run("q")


def test_a_repeated_line_makes_the_next_line_return() -> None:
    model = MockBackend([HEADER, "\n    money = 23\n", "\n    money = 23\n", "\n    more = money + 1\n"])
    with pytest.raises(ConstraintViolationError):  # only "return money" was allowed after the repeat
        PALRunner(model, scoped=True).run("q")
    model = MockBackend([HEADER, "\n    money = 23\n", "\n    money = 23\n", "\n    return money\n"])
    assert PALRunner(model, scoped=True).run("q").answer == "23"


def test_n_scoped_samples_vote() -> None:
    programs = [[HEADER, "\n    x = 4\n", "\n    return x\n"], [HEADER, "\n    x = 5\n", "\n    return x\n"],
                [HEADER, "\n    y = 4\n", "\n    return y\n"]]
    model = MockBackend([line for program in programs for line in program])
    result = PALRunner(model, scoped=True, n=3, seed=1).run("q")
    assert result.answer == "4" and result.votes == {"4": 2, "5": 1}


def test_scoped_needs_a_text_template_and_grammars() -> None:
    with pytest.raises(ConfigError, match="chat template"):
        PALRunner(MockBackend(), scoped=True, template="pal_chat")
    no_grammars = MockBackend()
    no_grammars.capabilities = dataclasses.replace(no_grammars.capabilities, constraints=frozenset({"regex"}))
    with pytest.raises(UnsupportedKnobError, match="grammar"):
        PALRunner(no_grammars, scoped=True)


@pytest.mark.slow
def test_a_scoped_program_on_the_embedded_model_reads_only_names_it_assigned(llamacpp_backend: object) -> None:
    import ast

    runner = PALRunner(llamacpp_backend, scoped=True)  # type: ignore[arg-type]
    result = runner.run("Jose starts with 7 bottle caps. He gets 2 more from Rebecca. How many bottle caps does "
                        "Jose end with?")
    program = result.trace.steps[0].completion
    assert program.startswith("def solution():\n    \"\"\"") and "\n    return " in program
    def names(line: ast.AST, context: type[ast.expr_context]) -> set[str]:
        return {node.id for node in ast.walk(line) if isinstance(node, ast.Name) and isinstance(node.ctx, context)}

    assigned: set[str] = set()
    for line in ast.parse(program).body[0].body[1:]:  # type: ignore[attr-defined]
        assert names(line, ast.Load) <= assigned, (names(line, ast.Load) - assigned, program)
        assigned |= names(line, ast.Store)
    assert result.status == "ok", program


def test_a_line_ends_at_its_newline_and_the_next_indentation_at_most() -> None:
    assert line_grammar(["a"]).check("\n    return a\n    ")
    assert not line_grammar(["a"]).check("\n    return a\n" + " " * 60)


def test_scoped_refuses_a_whole_program_grammar_and_a_bad_function_name() -> None:
    with pytest.raises(ConfigError, match="leave constrained unset"):
        PALRunner(MockBackend(), scoped=True, constrained=True)
    with pytest.raises(ConfigError, match="identifier"):
        header_grammar('so"lve')
