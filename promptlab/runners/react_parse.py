"""Parsing a ReAct model's output: split the thought from the action, and read the action.

Models write actions many ways; all of these mean ``search`` with ``Colorado orogeny``::

    Search[Colorado orogeny]        search [ "Colorado orogeny" ]     SEARCH[Colorado orogeny
    Action 1: Search[Colorado orogeny]      2. Search[Colorado orogeny]      `Search[Colorado orogeny]`
    Search: Colorado orogeny        Search("Colorado orogeny")        search(entity="Colorado orogeny")
    search{"entity": "Colorado orogeny"}    {"tool": "search", "arguments": {"entity": "Colorado orogeny"}}

Which names are tools is the registry's business: the parser only reads the shape.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any

from promptlab.errors import PromptlabError

__all__ = ["ActionParseError", "Argument", "ParsedAction", "parse_action", "parse_tool_call", "split_thought"]

_SIMPLE = re.compile(r"^([A-Za-z_][\w\-]*)\[([^\[\]\n\"'“‘`]*)\]$")
"""The common case, ``Tool[argument]`` with nothing to clean up: parsed without the general path."""
_PREFIX = re.compile(r"^\s*(?:(?:action\s*\d*\s*[:.)\-]|\d+\s*[.):]|[-*>]\s)\s*)+", re.IGNORECASE)
_CALL = re.compile(r"^(?P<name>[A-Za-z_][\w\-]*(?: [A-Za-z_][\w\-]*){0,2}?)\s*(?P<open>[\[({])(?P<rest>.*)$", re.DOTALL)
_BARE = re.compile(r"^(?P<name>[A-Za-z_][\w\-]*)\s*(?::\s*|\s+)(?P<arg>\S.*)$", re.DOTALL)
_NAME_ONLY = re.compile(r"^[A-Za-z_][\w\-]*$")
_ACTION_LINE = re.compile(r"(?:^|\n)[ \t]*(?:[*_]{1,2})?action(?:[ \t]*\d+)?[ \t]*(?:[*_]{1,2})?[ \t]*:[ \t]*",
                          re.IGNORECASE)
_ACTION_INLINE = re.compile(r"\baction[ \t]*\d+[ \t]*:[ \t]*", re.IGNORECASE)
_THOUGHT_LABEL = re.compile(r"^\s*thought(?:\s*\d+)?\s*:\s*", re.IGNORECASE)
_CLOSERS = {"[": "]", "(": ")", "{": "}"}
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "`": "`"}
_JSON_NAME_KEYS = ("tool", "name", "action", "function", "tool_name")
_JSON_THOUGHT_KEYS = ("thought", "reasoning", "thoughts")
_FENCE = re.compile(r"```(?:json)?")
_JSON_ARG_KEYS = ("arguments", "args", "parameters", "action_input", "input", "tool_input")

Argument = str | dict[str, Any]


class ActionParseError(PromptlabError, ValueError):
    """The model's action could not be read as ``Tool[argument]`` (or a JSON tool call)."""


@dataclass(frozen=True, slots=True)
class ParsedAction:
    """A tool call read from model output: the tool name as written, and its argument(s)."""

    name: str
    argument: Argument
    raw: str
    thought: str = ""
    """The reasoning a JSON tool call carried in a ``thought`` (or ``reasoning``) field."""

    def as_dict(self) -> dict[str, Any]:
        return {"tool": self.name, "argument": self.argument}


def split_thought(completion: str) -> tuple[str, str | None]:
    """``(thought, action text)`` of a ``Thought i:`` completion; action None when there is no ``Action`` line.

    The action text is its first line only: anything the model wrote after it (a made-up
    observation, the next thought) is dropped.
    """
    match = _ACTION_LINE.search(completion) or _ACTION_INLINE.search(completion)
    if match is None:
        return completion.strip(), None
    thought = _THOUGHT_LABEL.sub("", completion[: match.start()], count=1).strip()
    return thought, completion[match.end():].strip().split("\n", 1)[0].strip()


def parse_action(text: str) -> ParsedAction:
    """Read one action; raise :class:`ActionParseError` with a hint on what to write instead."""
    raw = text
    if simple := _SIMPLE.match(text):
        return ParsedAction(simple[1], simple[2].strip(), raw)
    body = _PREFIX.sub("", _unwrap(text.strip()), count=1).strip("*` \t\n")
    if not body:
        raise ActionParseError("The action is empty. Write it as Tool[argument], e.g. Search[Paris].")
    if body.startswith("{"):
        return _json_call(body, raw)
    if match := _CALL.match(body):
        return ParsedAction(match["name"].strip(), _bracketed(match["open"], match["rest"]), raw)
    if match := _BARE.match(body):
        return ParsedAction(match["name"], _clean(match["arg"].split("\n", 1)[0]), raw)
    if _NAME_ONLY.match(body):
        return ParsedAction(body, "", raw)
    raise ActionParseError(f"Could not read the action {_short(body)}. Write it as Tool[argument], e.g. Search[Paris].")


def _bracketed(opener: str, rest: str) -> Argument:
    inside = _matching(rest, opener, _CLOSERS[opener])
    if opener == "{":
        try:
            loaded = json.loads("{" + inside + "}")
        except json.JSONDecodeError:
            return _clean(inside)
        return loaded if isinstance(loaded, dict) else _clean(inside)
    if opener == "(":
        return _call_arguments(inside)
    return _clean(inside)


def _matching(rest: str, opener: str, closer: str) -> str:
    """The text up to the bracket closing the one just opened; all of it when unclosed."""
    depth = 1
    for index, char in enumerate(rest):
        if char == opener:
            depth += 1
        elif char == closer:
            depth -= 1
            if depth == 0:
                return rest[:index]
    line = rest.split("\n", 1)[0]
    return line[: line.rfind(closer)] if closer in line else line


def _call_arguments(inside: str) -> Argument:
    """``"x"`` -> ``"x"``; ``query="x", k=2`` -> ``{"query": "x", "k": 2}``; anything else as text."""
    source = f"f({inside})"
    try:
        call = ast.parse(source, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _clean(inside)
    if not isinstance(call, ast.Call):
        return _clean(inside)

    def value(node: ast.expr) -> Any:
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            return ast.get_source_segment(source, node)  # e.g. expression=2*3 keeps "2*3"

    if call.keywords and not call.args and all(k.arg for k in call.keywords):
        return {str(k.arg): value(k.value) for k in call.keywords}
    if len(call.args) == 1 and not call.keywords:
        single = value(call.args[0])
        return single if isinstance(single, str) else json.dumps(single)
    return _clean(inside)


def _json_call(body: str, raw: str) -> ParsedAction:
    try:
        loaded, _ = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError as exc:
        raise ActionParseError(
            f"The action looks like JSON but is not valid ({exc.msg}). "
            'Write {"tool": NAME, "arguments": {...}} or Tool[argument].'
        ) from None
    if not isinstance(loaded, dict):
        raise ActionParseError('A JSON action must be an object like {"tool": NAME, "arguments": {...}}.')
    function = loaded.get("function")
    call: dict[str, Any] = function if isinstance(function, dict) else loaded
    name = next((call[k] for k in _JSON_NAME_KEYS if isinstance(call.get(k), str)), None)
    if not name:
        raise ActionParseError('A JSON action needs the tool\'s name: {"tool": NAME, "arguments": {...}}.')
    argument: Any = next((call[k] for k in _JSON_ARG_KEYS if k in call), {})
    if isinstance(argument, str) and argument.strip().startswith("{"):
        with contextlib.suppress(json.JSONDecodeError):  # OpenAI sends arguments as a JSON string
            argument = json.loads(argument)
    if not isinstance(argument, (str, dict)):
        argument = json.dumps(argument)
    thought = next((str(loaded[k]) for k in _JSON_THOUGHT_KEYS if k in loaded), "")
    return ParsedAction(name.strip(), argument, raw, thought.strip())


def parse_tool_call(reply: str) -> ParsedAction:
    """Read a chat model's JSON tool call: the first JSON object in the reply (code fences and text
    around it ignored), else an action in the text format."""
    body = _FENCE.sub("", reply).strip()
    start = body.find("{")
    if start == -1:
        return parse_action(body.split("\n", 1)[0])
    return _json_call(body[start:], reply)


def _unwrap(text: str) -> str:
    """Drop markdown around an action: ``**Search[x]**``, `` `Search[x]` ``."""
    while len(text) > 1 and text[0] == text[-1] and text[0] in "*`_":
        text = text[1:-1].strip()
    return text


def _clean(argument: str) -> str:
    """Strip whitespace and one pair of quotes around the whole argument."""
    argument = argument.strip()
    if len(argument) >= 2 and _QUOTES.get(argument[0]) == argument[-1]:
        argument = argument[1:-1].strip()
    return argument


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
