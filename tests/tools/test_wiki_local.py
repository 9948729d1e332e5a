"""LocalWikipedia: the MediaWiki answers the wikipedia package expects, and its fixture file format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptlab.errors import ToolError
from promptlab.tools import LocalWikipedia, WikiPage, WikipediaEnv


def test_fixture_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "pages.json"
    path.write_text(json.dumps({
        "pages": {"Paris": "Paris is the capital of France.",
                  "Mercury": {"text": "Mercury may refer to:", "disambiguation": ["Mercury (planet)"]}},
        "redirects": {"City of Light": "Paris"},
        "search": {"[Mercury]": ["Mercury (planet)"]},
    }), encoding="utf-8")
    with LocalWikipedia.from_file(path) as wiki:
        env = WikipediaEnv(wiki.api_url)
        assert env.search("City of Light") == "Paris is the capital of France.."
        assert env.search("Mercury") == "Could not find [Mercury]. Similar: ['Mercury (planet)']."
    assert wiki.fixture.pages["Mercury"] == WikiPage(text="Mercury may refer to:", disambiguation=["Mercury (planet)"])


def test_bad_fixture_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="does not exist"):
        LocalWikipedia.from_file(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"pages": {"A": {"txt": "x"}}}', encoding="utf-8")
    with pytest.raises(ToolError, match="malformed"):
        LocalWikipedia.from_file(broken)


def test_api_url_needs_a_running_server() -> None:
    wiki = LocalWikipedia({})
    with pytest.raises(ToolError, match="not running"):
        _ = wiki.api_url


def test_answers_the_summary_and_pageid_calls() -> None:
    wiki = LocalWikipedia({"Paris": "Paris is the capital.\n== History ==\nOld city."})
    summary = wiki.answer({"prop": "extracts", "explaintext": "", "exintro": "", "titles": "Paris"})
    assert summary["query"]["pages"]["1"]["extract"] == "Paris is the capital."
    by_id = wiki.answer({"prop": "info|pageprops", "inprop": "url", "pageids": "1"})
    assert by_id["query"]["pages"]["1"]["fullurl"] == "https://en.wikipedia.org/wiki/Paris"
    missing = wiki.answer({"prop": "info|pageprops", "titles": "london"})
    assert missing["query"]["normalized"] == [{"from": "london", "to": "London"}]
    assert "missing" in missing["query"]["pages"]["-1"]
