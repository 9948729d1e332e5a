"""LocalWikipedia: a small MediaWiki API server on 127.0.0.1, for offline agents and tests.

It answers exactly the calls the ``wikipedia`` package makes (``list=search``,
``prop=info|pageprops``, ``prop=extracts|revisions``, ``prop=extracts`` with ``exintro``,
``prop=revisions`` with ``rvparse`` for disambiguation pages) from an in-memory set of
pages, so ``WikipediaEnv(server.api_url)`` runs without the internet::

    with LocalWikipedia.from_file("pages.json") as wiki:
        env = WikipediaEnv(wiki.api_url)

The JSON file holds ``{"pages": {title: text | {"text": ..., "disambiguation": [titles]}},
"redirects": {title: target}, "search": {query: [titles]}}``.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from promptlab.errors import ToolError

__all__ = ["LocalWikipedia", "WikiFixture", "WikiPage"]

_WORD = re.compile(r"\w+")


class WikiPage(BaseModel):
    """A page: its plain text, and the titles it lists if it is a disambiguation page."""

    model_config = ConfigDict(extra="forbid")

    text: str
    disambiguation: list[str] | None = None


class WikiFixture(BaseModel):
    """The content a :class:`LocalWikipedia` serves."""

    model_config = ConfigDict(extra="forbid")

    pages: dict[str, WikiPage] = Field(default_factory=dict)
    redirects: dict[str, str] = Field(default_factory=dict)
    search: dict[str, list[str]] = Field(default_factory=dict)
    """Fixed search results per query; other queries rank titles by shared words."""

    @field_validator("pages", mode="before")
    @classmethod
    def _text_is_a_page(cls, pages: Any) -> Any:
        if isinstance(pages, dict):
            return {t: {"text": p} if isinstance(p, str) else p for t, p in pages.items()}
        return pages


class LocalWikipedia:
    """A MediaWiki API on ``127.0.0.1`` (a free port) in a background thread.

    ``delay_s`` makes every answer that slow (to test timeouts); ``requests`` records the
    query parameters of every call received.
    """

    def __init__(self, pages: Mapping[str, str | WikiPage] | WikiFixture | None = None, *,
                 redirects: Mapping[str, str] | None = None, search: Mapping[str, Sequence[str]] | None = None,
                 delay_s: float = 0.0) -> None:
        if isinstance(pages, WikiFixture):
            self.fixture = pages
        else:
            self.fixture = WikiFixture.model_validate({
                "pages": dict(pages or {}), "redirects": dict(redirects or {}),
                "search": {q: list(r) for q, r in (search or {}).items()},
            })
        self._ids = {title: index for index, title in enumerate(self.fixture.pages, start=1)}
        self.delay_s = delay_s
        self.requests: list[dict[str, str]] = []
        self._server: ThreadingHTTPServer | None = None

    @classmethod
    def from_file(cls, path: str | Path, **options: Any) -> LocalWikipedia:
        """Serve the pages of a JSON fixture file (format in the module docstring)."""
        try:
            fixture = WikiFixture.model_validate_json(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ToolError(f"wiki fixture {str(path)!r} does not exist") from None
        except ValueError as exc:
            raise ToolError(f"wiki fixture {str(path)!r} is malformed: {exc}") from None
        return cls(fixture, **options)

    # ------------------------------------------------------------------ lifecycle
    @property
    def api_url(self) -> str:
        if self._server is None:
            raise ToolError("LocalWikipedia is not running; call start() or use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_address[1]}/w/api.php"

    def start(self) -> LocalWikipedia:
        if self._server is None:
            handler = type("Handler", (_Handler,), {"wiki": self})
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            self._server.daemon_threads = True
            self._server.block_on_close = False
            threading.Thread(target=self._server.serve_forever, args=(0.05,), name="local-wikipedia",
                             daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalWikipedia:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ the API
    def answer(self, params: dict[str, str]) -> dict[str, Any]:
        """The JSON answer to one API call."""
        if params.get("list") == "search":
            limit = int(params.get("srlimit", "10"))
            titles = self._search(params.get("srsearch", ""))[:limit]
            return {"query": {"searchinfo": {"totalhits": len(titles)},
                              "search": [{"ns": 0, "title": t} for t in titles]}}
        query: dict[str, Any] = {}
        title = self._title_of(params, query)
        if title is None:
            return {"query": {**query, "pages": {"-1": {"ns": 0, "title": params.get("titles", ""), "missing": ""}}}}
        page, pageid = self.fixture.pages[title], str(self._ids[title])
        entry: dict[str, Any] = {"pageid": int(pageid), "ns": 0, "title": title}
        props = set(params.get("prop", "").split("|"))
        if "info" in props:
            entry["fullurl"] = f"https://en.wikipedia.org/wiki/{title.replace(' ', '_')}"
        if "pageprops" in props and page.disambiguation is not None:
            entry["pageprops"] = {"disambiguation": ""}
        if "extracts" in props:
            entry["extract"] = page.text.split("\n==", 1)[0] if "exintro" in params else page.text
        if "revisions" in props:
            revision: dict[str, Any] = {"revid": int(pageid) * 10, "parentid": int(pageid) * 10 - 1}
            if "rvparse" in params:
                revision["*"] = self._html(page)
            entry["revisions"] = [revision]
        return {"query": {**query, "pages": {pageid: entry}}}

    def _title_of(self, params: dict[str, str], query: dict[str, Any]) -> str | None:
        """Resolve ``titles``/``pageids`` like MediaWiki: normalise, then follow a redirect."""
        if "pageids" in params:
            wanted = int(params["pageids"])
            return next((t for t, i in self._ids.items() if i == wanted), None)
        given = params.get("titles", "")
        title = given.replace("_", " ").strip()
        title = title[:1].upper() + title[1:]
        if title != given:
            query["normalized"] = [{"from": given, "to": title}]
        if title in self.fixture.redirects and "redirects" in params:
            target = self.fixture.redirects[title]
            query["redirects"] = [{"from": title, "to": target}]
            title = target
        return title if title in self.fixture.pages else None

    def _search(self, text: str) -> list[str]:
        if text in self.fixture.search:
            return self.fixture.search[text]
        words = set(_WORD.findall(text.lower()))
        scored = []
        for title, page in self.fixture.pages.items():
            in_title = words & set(_WORD.findall(title.lower()))
            score = 3 * len(in_title) + len(words & set(_WORD.findall(page.text.lower())))
            if score:
                scored.append((-score, title))
        return [title for _, title in sorted(scored)]

    @staticmethod
    def _html(page: WikiPage) -> str:
        items = "".join(f'<li><a href="/wiki/{html.escape(t)}">{html.escape(t)}</a></li>'
                        for t in page.disambiguation or [])
        return f"<p>{html.escape(page.text)}</p><ul>{items}</ul>"


class _Handler(BaseHTTPRequestHandler):
    wiki: LocalWikipedia

    def do_GET(self) -> None:
        params = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query, keep_blank_values=True).items()}
        self.wiki.requests.append(params)
        if self.wiki.delay_s:
            time.sleep(self.wiki.delay_s)
        body = json.dumps(self.wiki.answer(params)).encode("utf-8")
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return
