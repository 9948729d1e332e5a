"""ToolRegistry: the tools an agent may call, looked up by name."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from promptlab.errors import ToolError
from promptlab.tools.base import Observation, Tool

__all__ = ["ToolRegistry"]

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def _key(name: str) -> str:
    """Names match ignoring case, spaces, dashes and underscores (``Web_Search`` is ``websearch``)."""
    lowered = name.lower()
    return lowered if lowered.isalnum() else _NOT_ALNUM.sub("", lowered)


class ToolRegistry:
    """A set of tools with unique names; calling an unknown one yields a corrective observation."""

    def __init__(self, tools: Iterable[Tool[Any]] = ()) -> None:
        self._tools: dict[str, Tool[Any]] = {}
        for item in tools:
            self.add(item)

    def add(self, item: Tool[Any]) -> Tool[Any]:
        """Register a tool; a second tool with the same name is an error."""
        key = _key(item.name)
        if not key:
            raise ToolError(f"tool name {item.name!r} has no letters or digits")
        if key in self._tools:
            raise ToolError(f"a tool named {item.name!r} is already registered")
        self._tools[key] = item
        return item

    def get(self, name: str) -> Tool[Any] | None:
        """The tool called ``name`` (case and separators ignored), or None."""
        return self._tools.get(_key(name))

    @property
    def names(self) -> list[str]:
        return [t.name for t in self._tools.values()]

    def invoke(self, name: str, arguments: str | Mapping[str, Any] | None = None) -> Observation:
        """Call a tool by name; an unknown name returns an ``unknown_tool`` observation listing the tools."""
        found = self._tools.get(_key(name))
        if found is None:
            return Observation(self.unknown_tool_message(name), "unknown_tool")
        return found.invoke(arguments)

    def unknown_tool_message(self, name: str) -> str:
        return f"Unknown tool {name!r}. Available tools: {', '.join(self.names) or 'none'}."

    def reset(self) -> None:
        """Start a new episode: every tool forgets its per-episode state."""
        for item in self._tools.values():
            item.reset()

    def json_schemas(self) -> list[dict[str, Any]]:
        """Every tool in OpenAI's function-calling format."""
        return [t.json_schema() for t in self._tools.values()]

    def describe(self) -> str:
        """One line per tool, ``name(args): description``, for a prompt."""
        return "\n".join(f"{t.signature()}: {t.description}" for t in self._tools.values())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _key(name) in self._tools

    def __iter__(self) -> Iterator[Tool[Any]]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)
