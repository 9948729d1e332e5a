"""Hostile files given to the CLI and to templates: one clear line (exit 2) or one typed error, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptlab.errors import TemplateError
from promptlab.prompts import TemplateLibrary

runner = CliRunner()
NOT_UTF8 = b"caf\xe9 \xff\xfe\n"


def _one_line_error(args: list[str], expected: str) -> None:
    from promptlab.cli.app import app

    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected in lines[0]


@pytest.mark.parametrize("line", [json.dumps([1, 2]), json.dumps("a string"), json.dumps(7)])
@pytest.mark.parametrize("command", ["show", "html"])
def test_trace_files_whose_lines_are_not_objects(tmp_path: Path, line: str, command: str) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text(line + "\n", encoding="utf-8")
    extra = ["-o", str(tmp_path / "t.html")] if command == "html" else []
    _one_line_error(["trace", command, str(trace), *extra], "not a trace event object")


def test_a_deeply_nested_trace_line_is_no_traceback(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text("[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    _one_line_error(["trace", "show", str(trace)], "holds no traces")


def test_documents_that_are_not_utf8(tmp_path: Path) -> None:
    documents = tmp_path / "docs.txt"
    documents.write_bytes(NOT_UTF8)
    _one_line_error(["run", "react", "q?", "--backend", "mock", "--tools", "retriever", "--documents",
                     str(documents)], "is not UTF-8 text")


@pytest.mark.parametrize(("content", "expected"), [
    (NOT_UTF8, "not UTF-8 text"),
    (b"[" * 100_000, "nested deeper"),
    (b'{"n": ' + b"1" * 10_000 + b"}", "max_number_chars"),
])
def test_vars_json_that_is_hostile(tmp_path: Path, content: bytes, expected: str) -> None:
    variables = tmp_path / "vars.json"
    variables.write_bytes(content)
    _one_line_error(["render", "direct", "--vars-json", str(variables)], expected)


def _template(directory: Path, default_file: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "t.jinja"
    path.write_text("{#-\ninputs:\n  shots: {default_file: '" + default_file + "'}\n-#}{{ shots }}", encoding="utf-8")
    return path


@pytest.mark.parametrize("reference", ["/etc/hostname", "/proc/self/environ", "../secret.txt", "sub/../../secret.txt"])
def test_default_file_cannot_leave_the_template_directory(tmp_path: Path, reference: str) -> None:
    (tmp_path / "secret.txt").write_text("password", encoding="utf-8")
    _template(tmp_path / "templates", reference)
    with pytest.raises(TemplateError, match="must be a path inside the template's directory"):
        TemplateLibrary([tmp_path / "templates"], shipped=False).get("t")


def test_default_file_through_a_symlink_out_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("password", encoding="utf-8")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "link.txt").symlink_to(tmp_path / "secret.txt")
    _template(tmp_path / "templates", "link.txt")
    with pytest.raises(TemplateError, match="inside the template's directory"):
        TemplateLibrary([tmp_path / "templates"], shipped=False).get("t")


def test_default_file_inside_the_directory_still_works_and_non_utf8_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "shots.txt").write_text("two shots", encoding="utf-8")
    _template(tmp_path, "examples/shots.txt")
    assert TemplateLibrary([tmp_path], shipped=False).get("t").render() == "two shots"
    (tmp_path / "examples" / "shots.txt").write_bytes(NOT_UTF8)
    with pytest.raises(TemplateError, match="is not UTF-8 text"):
        TemplateLibrary([tmp_path], shipped=False).get("t")
