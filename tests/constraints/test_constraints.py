"""Constraints: validated when built (errors name the position or feature), exact and linear checks."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from promptlab.config import GenerationConfig
from promptlab.constraints import Choice, Grammar, JsonSchema, Regex
from promptlab.errors import ConfigError


class City(BaseModel):
    name: str
    population: int


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Regex(pattern="a(b"), r"regex 'a\(b' is invalid: unclosed group at character 2"),
        (lambda: Regex(pattern="(?=a)b"), "look-around.*not supported"),
        (lambda: Regex(pattern=r"(\w)\1"), "backreferences are not supported"),
        (lambda: Grammar(lark='start: foo\nfoo: "a" bar'), r'line 2, column 6: unknown name: "bar"'),
        (lambda: Grammar(lark='foo: "a"'), "no start rule found"),
        (lambda: JsonSchema.of({"type": "array", "uniqueItems": True}), r"unsupported schema.*uniqueItems"),
        (lambda: JsonSchema.of({"type": "strin"}), "Invalid type: strin"),
        (lambda: Choice(options=()), "options: .*at least 1 item"),
        (lambda: Grammar.from_gbnf('root ::= "yes" | ('), r"GBNF grammar cannot be converted: Expected '\)' at line 1"),
        (lambda: Grammar.from_gbnf("root ::= missing"), "Rule 'missing' not found"),
    ],
)
def test_a_bad_constraint_is_a_config_error_naming_the_cause(make: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()  # type: ignore[operator]


def test_the_config_validates_a_constraint_given_as_data() -> None:
    with pytest.raises(ConfigError, match=r"constraint\.regex: .*unclosed group"):
        GenerationConfig(constraint={"kind": "regex", "pattern": "a(b"})
    config = GenerationConfig(constraint={"kind": "choice", "options": ["yes", "no"]})
    assert config.constraint == Choice(options=("yes", "no"))
    assert config.with_overrides(temperature=0.5).constraint == config.constraint
    assert config.with_overrides(constraint=None).constraint is None


def test_regex_check_is_a_full_match() -> None:
    number = Regex(pattern=r"-?\d+(\.\d+)?")
    assert number.check("12.5") and number.check("-3")
    assert not number.check("12.") and not number.check("x12") and not number.check("12 ")
    assert number.allows_prefix("12.") and not number.allows_prefix("x")


def test_choice_holds_any_text_exactly() -> None:
    options = ("yes", 'say "no"\n', "é😀", "back\\slash")
    choice = Choice(options=options)
    assert all(choice.check(option) for option in options)
    assert not choice.check("ye") and not choice.check("yess") and not choice.check("")
    assert choice.allows_prefix("ye")


def test_json_schema_from_a_model_checks_values_not_just_syntax() -> None:
    city = JsonSchema.of(City)
    assert city.describe() == "JSON schema 'City'"
    assert city.check('{"name": "Paris", "population": 2100000}')
    assert city.check('{\n  "name": "Paris",\n  "population": 1\n}')
    assert not city.check('{"name": "Paris"}')  # a required key is missing
    assert not city.check('{"name": "Paris", "population": "many"}')
    assert city.check(' {"name": "Paris", "population": 1}\n')  # JSON whitespace around the value is JSON


def test_gbnf_is_converted_and_kept_verbatim() -> None:
    source = 'root ::= "yes" | "no" [0-9]+'
    grammar = Grammar.from_gbnf(source)
    assert grammar.gbnf == source
    assert grammar.check("yes") and grammar.check("no42")
    assert not grammar.check("no") and not grammar.check("maybe")


def test_lark_grammar_check() -> None:
    action = Grammar(lark='start: tool "[" /[^\\]\\n]+/ "]"\ntool: "Search" | "Finish"')
    assert action.check("Search[Nicholas Ray]") and action.check("Finish[film director]")
    assert not action.check("Lookup[x]") and not action.check("Search[]")


def test_pathological_patterns_are_checked_in_linear_time() -> None:
    # Catastrophic for a backtracking engine; llguidance walks each byte once.
    nested = Regex(pattern=r"(a*)*b")
    assert not nested.check("a" * 200_000)
    assert nested.check("a" * 200_000 + "b")
    assert not Regex(pattern=r"(a|aa)*(a|b){20}c").check("a" * 200_000)


def test_a_models_objects_are_closed_but_a_dict_schema_is_taken_as_given() -> None:
    class Inner(BaseModel):
        properties: int = 0

    class Outer(BaseModel):
        inner: Inner
        tags: list[str] = []

    schema = JsonSchema.of(Outer)
    assert schema.json_schema["additionalProperties"] is False
    inner = schema.json_schema["$defs"]["Inner"]
    assert inner["additionalProperties"] is False
    assert "additionalProperties" not in inner["properties"]  # a property named "properties" is not a schema
    assert schema.check('{"inner":{"properties":1},"tags":[]}')
    assert not schema.check('{"inner":{"properties":1},"tags":[],"population":3}')
    given = {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert JsonSchema.of(given).check('{"a":1,"b":2}')
