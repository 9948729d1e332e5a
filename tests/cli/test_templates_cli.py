"""``promptlab templates`` and ``promptlab render``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from promptlab.cli.app import app
from promptlab.prompts import TemplateLibrary

runner = CliRunner()


def test_templates_lists_names_kinds_and_inputs() -> None:
    result = runner.invoke(app, ["templates", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == set(TemplateLibrary().names())
    assert rows["pal_chat"]["kind"] == "chat"
    assert [(i["name"], i["required"]) for i in rows["cot"]["inputs"]] == [("question", True), ("examples", False)]


def test_templates_table_shows_optional_inputs() -> None:
    result = runner.invoke(app, ["templates"])
    assert result.exit_code == 0, result.output
    assert "react_hotpotqa" in result.stdout
    assert "examples?" in result.stdout


def test_templates_reports_a_broken_user_template_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "broken.jinja").write_text("{#- inputs: [a] -#}{% if a %}", encoding="utf-8")
    result = runner.invoke(app, ["templates", "--dir", str(tmp_path), "--json"])
    assert result.exit_code == 1
    broken = next(row for row in json.loads(result.stdout) if row["name"] == "broken")
    assert "syntax error" in broken["error"]


def test_render_prints_the_exact_prompt() -> None:
    result = runner.invoke(app, ["render", "pal_gsm", "--var", "question=How many?"])
    assert result.exit_code == 0, result.output
    assert result.stdout == TemplateLibrary().get("pal_gsm").render(question="How many?")


def test_render_a_template_file_with_vars_json(tmp_path: Path) -> None:
    template = tmp_path / "list.jinja"
    template.write_text("{#- inputs: [items, title] -#}{{ title }}:{% for i in items %} {{ i }}{% endfor %}",
                        encoding="utf-8")
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({"items": [1, 2], "title": "from json"}), encoding="utf-8")
    result = runner.invoke(app, ["render", str(template), "--vars-json", str(variables), "--var", "title=T"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "T: 1 2"  # --var wins over --vars-json


def test_render_chat_template_prints_messages() -> None:
    result = runner.invoke(app, ["render", "pal_chat", "--var", "question=What is 6*7?"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("[system]\nYou will write python program")
    assert "\n\n[user]\nLet's use python" in result.stdout
    assert result.stdout.endswith("Q: What is 6*7?\n")


def test_render_json_for_chat_and_text() -> None:
    chat = json.loads(runner.invoke(app, ["render", "pal_chat", "-v", "question=q?", "--json"]).stdout)
    assert [m["role"] for m in chat["messages"]] == ["system", "user"]
    text = json.loads(runner.invoke(app, ["render", "direct", "-v", "question=q?", "--json"]).stdout)
    assert text == {"template": "direct", "kind": "text", "prompt": "Q: q?\nA:"}


def _fails_with_one_line(args: list[str], expected: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.output


def test_bad_var_is_one_clear_line() -> None:
    _fails_with_one_line(["render", "direct", "--var", "question"], "must look like key=value")


def test_unknown_template_is_one_clear_line() -> None:
    _fails_with_one_line(["render", "no_such_template", "--var", "question=x"], "no template named 'no_such_template'")


def test_missing_variable_is_one_clear_line() -> None:
    _fails_with_one_line(["render", "direct"], "missing required variable 'question'")


def test_unexpected_variable_is_one_clear_line() -> None:
    _fails_with_one_line(["render", "direct", "--var", "question=x", "--var", "q=y"], "unexpected variable 'q'")


def test_bad_vars_json_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "vars.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    _fails_with_one_line(["render", "direct", "--vars-json", str(bad)], "must hold a JSON object")
    bad.write_text("{oops", encoding="utf-8")
    _fails_with_one_line(["render", "direct", "--vars-json", str(bad)], "invalid JSON at line 1")


def test_a_security_violation_is_one_clear_line(tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.jinja"
    hostile.write_text("{#- inputs: [] -#}{{ 'a' * 10**10 }}", encoding="utf-8")
    _fails_with_one_line(["render", str(hostile)], "refused")
