"""Reading actions the many ways models write them."""

from __future__ import annotations

from typing import Any

import pytest

from promptlab.runners.react_parse import ActionParseError, parse_action, split_thought


@pytest.mark.parametrize(("text", "name", "argument"), [
    ("Search[Colorado orogeny]", "Search", "Colorado orogeny"),
    ("search[Colorado orogeny]", "search", "Colorado orogeny"),
    ("SEARCH [ Colorado orogeny ]", "SEARCH", "Colorado orogeny"),
    ("Search[Colorado orogeny", "Search", "Colorado orogeny"),
    ('Search["Colorado orogeny"]', "Search", "Colorado orogeny"),
    ("Search['Colorado orogeny']", "Search", "Colorado orogeny"),
    ("Search[“Colorado orogeny”]", "Search", "Colorado orogeny"),
    ("Action 1: Search[Colorado orogeny]", "Search", "Colorado orogeny"),
    ("Action: Search[Colorado orogeny]", "Search", "Colorado orogeny"),
    ("2. Search[Colorado orogeny]", "Search", "Colorado orogeny"),
    ("`Search[Colorado orogeny]`", "Search", "Colorado orogeny"),
    ("**Search[Colorado orogeny]**", "Search", "Colorado orogeny"),
    ("Search: Colorado orogeny", "Search", "Colorado orogeny"),
    ("Search Colorado orogeny", "Search", "Colorado orogeny"),
    ('Search("Colorado orogeny")', "Search", "Colorado orogeny"),
    ("Search(Colorado orogeny)", "Search", "Colorado orogeny"),
    ('search(entity="Colorado orogeny")', "search", {"entity": "Colorado orogeny"}),
    ('search{"entity": "Colorado orogeny"}', "search", {"entity": "Colorado orogeny"}),
    ('Search[{"entity": "Colorado orogeny"}]', "Search", '{"entity": "Colorado orogeny"}'),
    ('{"tool": "search", "arguments": {"entity": "Colorado orogeny"}}', "search", {"entity": "Colorado orogeny"}),
    ('{"name": "search", "arguments": "{\\"entity\\": \\"X\\"}"}', "search", {"entity": "X"}),
    ('{"action": "Search", "action_input": "Colorado orogeny"}', "Search", "Colorado orogeny"),
    ('{"function": {"name": "search", "arguments": {"entity": "X"}}}', "search", {"entity": "X"}),
    ('{"tool": "calculator", "arguments": {"expression": "1+1"}} and more', "calculator", {"expression": "1+1"}),
    ("Search[High Plains (United States)]", "Search", "High Plains (United States)"),
    ("Finish[[1, 2]]", "Finish", "[1, 2]"),
    ("Search[A] then Lookup[B]", "Search", "A"),
    ("Finish[1,800 to 7,000 ft]", "Finish", "1,800 to 7,000 ft"),
    ("Finish[Arthur's Magazine]", "Finish", "Arthur's Magazine"),
    ("Finish[]", "Finish", ""),
    ("Finish", "Finish", ""),
    ("web_search[x]", "web_search", "x"),
    ("Calculator(2 * (3 + 4))", "Calculator", "2 * (3 + 4)"),
    ("calculator(expression=2*3)", "calculator", {"expression": "2*3"}),
    ("lookup(keyword='x', k=2)", "lookup", {"keyword": "x", "k": 2}),
    ("Search(a, b)", "Search", "a, b"),
])
def test_parse_action(text: str, name: str, argument: Any) -> None:
    action = parse_action(text)
    assert (action.name, action.argument) == (name, argument)
    assert action.raw == text


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"),
    ("   ", "empty"),
    ("[Colorado orogeny]", "Could not read"),
    ('{"tool": "search", ', "not valid"),
    ('{"arguments": {}}', "tool's name"),
    ("[1, 2]", "Could not read"),
    ("???", "Could not read"),
])
def test_unreadable_actions_explain_the_format(text: str, message: str) -> None:
    with pytest.raises(ActionParseError, match=message) as caught:
        parse_action(text)
    # Every message shows the model a form it can write instead.
    assert "Tool[argument]" in str(caught.value) or '{"tool": NAME' in str(caught.value)


@pytest.mark.parametrize(("completion", "thought", "action"), [
    (" I need to search X.\nAction 1: Search[X]", "I need to search X.", "Search[X]"),
    (" I need to search X.\nAction 1: Search[X]\nObservation 1: made up", "I need to search X.", "Search[X]"),
    (" Think.\naction 3:Search[X]\nThought 4: more", "Think.", "Search[X]"),
    (" Think.\n**Action 2:** Search[X]", "Think.", "** Search[X]"),
    (" Think.\nAction: Search[X]", "Think.", "Search[X]"),
    ("Thought 1: Think. Action 1: Search[X]", "Think.", "Search[X]"),
    (" Only a thought.\nMore thought.", "Only a thought.\nMore thought.", None),
    (" The action: unclear", "The action: unclear", None),
])
def test_split_thought(completion: str, thought: str, action: str | None) -> None:
    assert split_thought(completion) == (thought, action)
    if action is not None:
        assert parse_action(action).argument == "X"
