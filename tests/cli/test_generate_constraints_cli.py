"""``promptlab generate --regex | --choice | --json-schema | --grammar``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptlab.cli.app import app

runner = CliRunner()


def mock(tmp_path: Path, *responses: str) -> str:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(list(responses)))
    return f"mock:{script}"


def test_each_constraint_option_reaches_the_backend(tmp_path: Path) -> None:
    schema = tmp_path / "point.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}))
    lark = tmp_path / "action.lark"
    lark.write_text('start: "Search[" /[a-z]+/ "]"')
    gbnf = tmp_path / "yes.gbnf"
    gbnf.write_text('root ::= "yes" | "no"')
    cases = [(["--regex", "[0-9]+"], "42"), (["--choice", "yes,no"], "no"),
             (["--json-schema", str(schema)], '{"x": 1}'), (["--grammar", str(lark)], "Search[ray]"),
             (["--grammar", str(gbnf)], "yes")]
    for options, response in cases:
        result = runner.invoke(app, ["generate", "q", "--backend", mock(tmp_path, response), *options, "--json"])
        assert result.exit_code == 0, (options, result.output)
        assert json.loads(result.stdout)[0]["text"] == response


def test_a_response_outside_the_constraint_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", "q", "--backend", mock(tmp_path, "maybe"), "--choice", "yes,no"])
    assert result.exit_code == 2
    assert "produced 'maybe'" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--regex", "a(b"], "unclosed group"),
        (["--regex", "a", "--choice", "a"], "at most one constraint, not --regex and --choice"),
        (["--json-schema", "missing.json"], "missing.json"),
        (["--grammar", "missing.lark"], "missing.lark"),
    ],
)
def test_bad_constraint_options_are_one_line(tmp_path: Path, options: list[str], message: str) -> None:
    result = runner.invoke(app, ["generate", "q", "--backend", mock(tmp_path, "a"), *options])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_bad_schema_and_grammar_files_are_one_line(tmp_path: Path) -> None:
    not_json = tmp_path / "bad.json"
    not_json.write_text("{nope")
    unsupported = tmp_path / "unique.json"
    unsupported.write_text(json.dumps({"type": "array", "uniqueItems": True}))
    huge = tmp_path / "huge.lark"
    huge.write_bytes(b"x" * ((1 << 20) + 1))
    bad_lark = tmp_path / "bad.lark"
    bad_lark.write_text('start: foo\nfoo: "a" bar')
    for options, message in [
        (["--json-schema", str(not_json)], "is not JSON"),
        (["--json-schema", str(unsupported)], "unsupported schema feature(s)"),
        (["--grammar", str(huge)], "larger than 1048576 bytes"),
        (["--grammar", str(bad_lark)], "line 2, column 6"),
    ]:
        result = runner.invoke(app, ["generate", "q", "--backend", mock(tmp_path, "a"), *options])
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output
