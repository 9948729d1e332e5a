"""``promptlab templates`` (list the template library) and ``promptlab render`` (print an exact prompt)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from promptlab import safe_json
from promptlab.cli.common import fail, friendly_errors, parse_vars, print_json
from promptlab.errors import TemplateError
from promptlab.prompts import PromptTemplate, TemplateLibrary

__all__ = ["DirsOption", "list_templates", "render"]

DirsOption = Annotated[
    list[Path] | None,
    typer.Option("--dir", help="A directory of templates searched before the shipped ones; repeatable."),
]


def list_templates(
    dirs: DirsOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List the templates with their kind, inputs and description."""
    with friendly_errors():
        library = TemplateLibrary.default(dirs or ())
        rows: list[dict[str, Any]] = []
        for name in library.names():
            try:
                rows.append(_describe(library.get(name)))
            except TemplateError as exc:
                rows.append({"name": name, "error": str(exc)})
    if json_output:
        print_json(rows)
    else:
        _print_table(rows)
    if any("error" in row for row in rows):
        raise typer.Exit(1)


def render(
    template: Annotated[str, typer.Argument(help="A template name from the library, or a template file's path.")],
    var: Annotated[list[str] | None, typer.Option("--var", "-v", help="An input as key=value; repeatable.")] = None,
    vars_json: Annotated[
        Path | None, typer.Option("--vars-json", help="A JSON object of inputs (lists, objects); --var wins.")
    ] = None,
    dirs: DirsOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON: the prompt, or the chat messages.")] = False,
) -> None:
    """Print the exact prompt TEMPLATE renders to (chat templates: the messages)."""
    variables = {**_read_vars_json(vars_json), **parse_vars(var or [])}
    with friendly_errors():
        loaded = TemplateLibrary.default(dirs or ()).get(template)
        if loaded.kind == "chat":
            messages = loaded.render_messages(**variables)
        else:
            prompt = loaded.render(**variables)
    if loaded.kind == "chat":
        if json_output:
            print_json({"template": loaded.name, "kind": "chat", "messages": messages})
        else:
            sys.stdout.write("\n\n".join(f"[{m.role}]\n{m.content}" for m in messages) + "\n")
        return
    if json_output:
        print_json({"template": loaded.name, "kind": "text", "prompt": prompt})
        return
    sys.stdout.write(prompt)  # exactly the prompt: no newline added when piped
    if sys.stdout.isatty() and not prompt.endswith("\n"):
        sys.stdout.write("\n")


def _read_vars_json(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = safe_json.loads(path.read_bytes())
    except OSError as exc:
        fail(f"--vars-json {str(path)!r}: cannot read it: {exc.strerror or exc}")
    except safe_json.JsonLimitError as exc:  # also a file that is not UTF-8
        fail(f"--vars-json {str(path)!r}: {exc}")
    if not isinstance(data, dict):
        fail(f"--vars-json {str(path)!r} must hold a JSON object of name -> value")
    return data


def _describe(template: PromptTemplate) -> dict[str, Any]:
    return {
        "name": template.name,
        "kind": template.kind,
        "inputs": [{"name": spec.name, "required": spec.required, "description": spec.description}
                   for spec in template.inputs.values()],
        "description": template.description,
        "path": str(template.path),
    }


def _print_table(rows: list[dict[str, Any]]) -> None:
    table = Table("name", "kind", "inputs", "description")
    for row in rows:
        if "error" in row:
            table.add_row(row["name"], "[red]error[/red]", "", row["error"])
            continue
        inputs = ", ".join(i["name"] if i["required"] else f"{i['name']}?" for i in row["inputs"])
        table.add_row(row["name"], row["kind"], inputs, row["description"])
    Console().print(table)
    typer.echo("(? = optional, has a default)")
