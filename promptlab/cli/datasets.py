"""``promptlab datasets``: the evaluation datasets shipped in the package, with sizes, sources and licences."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from promptlab.cli.common import print_json
from promptlab.eval.datasets import ALIASES, KNOWN, shipped_data_dir

__all__ = ["list_datasets"]


def list_datasets(
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List the shipped datasets: name, items, size, scoring, source and licence."""
    aliases: dict[str, list[str]] = {}
    for alias, name in ALIASES.items():
        aliases.setdefault(name, []).append(alias)
    rows: list[dict[str, Any]] = [
        {"name": info.name, "aliases": aliases.get(info.name, []), "items": info.items, "task": info.task,
         "bytes": info.path.stat().st_size if info.path.is_file() else None, "description": info.description,
         "source": info.source, "licence": info.licence, "path": str(info.path)}
        for info in KNOWN.values()
    ]
    if json_output:
        print_json(rows)
        return
    table = Table("name", "items", "size", "scored as", "source", "licence")
    for row in rows:
        size = f"{row['bytes'] / 1024:,.0f} KiB" if row["bytes"] is not None else "[red]missing[/red]"
        table.add_row(row["name"], f"{row['items']:,}", size, row["task"], row["source"], row["licence"])
    Console().print(table)
    typer.echo(f"Sources and licences: {shipped_data_dir() / 'LICENSES.md'}. "
               "Evaluate one with: promptlab eval NAME --strategy pal --limit 20")
