"""Per-call endpoint and deadline for the ``wikipedia`` package's HTTP requests.

``wikipedia`` 1.4 sends every request with ``requests.get(API_URL, ...)``: one module-wide
endpoint and no timeout. Rather than mutating ``API_URL`` (racy across threads and
sessions), we swap the module's ``requests`` reference, once, for a shim whose ``get``
reads the endpoint, session and deadline of the calling context. Outside a
:func:`bounded_requests` block the shim defers to the real ``requests.get`` unchanged.
"""

from __future__ import annotations

import contextvars
import importlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from promptlab import safe_json
from promptlab.errors import ToolError

if TYPE_CHECKING:
    import requests


class WikipediaError(ToolError):
    """Wikipedia could not be reached, was too slow, or answered something unreadable."""

    retryable = True


MAX_RESPONSE_BYTES = 8 * 1024 * 1024
"""Bytes of one answer from the MediaWiki API (a long article's extract is well under 1 MB)."""


class _TooBig(Exception):
    pass


@dataclass(frozen=True)
class _CallContext:
    api_url: str
    session: requests.Session
    deadline: float
    user_agent: str
    max_bytes: int

    def get(self, params: dict[str, Any]) -> requests.Response:
        """GET within the call's deadline (checked between chunks too) and byte cap; the body is safe JSON."""
        import requests

        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise requests.Timeout("deadline passed before the request was sent")
        with self.session.get(self.api_url, params=params, headers={"User-Agent": self.user_agent},
                              timeout=(remaining, remaining), stream=True) as response:
            response.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            while chunk := response.raw.read1(64 * 1024):  # whatever has arrived: a drip still reaches the check
                size += len(chunk)
                if size > self.max_bytes:
                    raise _TooBig
                chunks.append(chunk)
                if time.monotonic() > self.deadline:
                    raise requests.Timeout("the answer took past the deadline")
            body = b"".join(chunks)
        safe_json.loads(body)  # depth and number size, before the wikipedia package's own json()
        response._content = body  # what response.json() and .text read
        return response


_CURRENT: contextvars.ContextVar[_CallContext | None] = contextvars.ContextVar("promptlab_wiki_call", default=None)
_INSTALL_LOCK = threading.Lock()


class _RequestsShim:
    """Stands in for the ``requests`` module inside ``wikipedia.wikipedia``."""

    def __init__(self, real: ModuleType) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def get(self, url: str, params: dict[str, Any] | None = None, **kwargs: Any) -> requests.Response:
        context = _CURRENT.get()
        if context is None:
            return self._real.get(url, params=params, **kwargs)  # type: ignore[no-any-return]
        return context.get(params or {})


def wiki_module() -> ModuleType:
    """``wikipedia.wikipedia``, imported on first use (it costs ~0.15 s), with the shim installed."""
    module = importlib.import_module("wikipedia.wikipedia")
    with _INSTALL_LOCK:
        real = getattr(module, "requests")  # noqa: B009 - the attribute is set dynamically below
        if not isinstance(real, _RequestsShim):
            setattr(module, "requests", _RequestsShim(real))  # noqa: B010
    return module


@contextmanager
def bounded_requests(api_url: str, session: requests.Session, timeout_s: float, user_agent: str,
                     max_bytes: int = MAX_RESPONSE_BYTES) -> Iterator[None]:
    """Within the block, the ``wikipedia`` package's requests go to ``api_url`` and end by the deadline
    (``timeout_s`` for the whole block, checked between chunks too, so a drip is cut at the deadline),
    each answer at most ``max_bytes`` of JSON within :mod:`promptlab.safe_json`'s limits.

    Network failures, HTTP errors, timeouts and unreadable or oversized answers leave the block as
    :class:`WikipediaError`.
    """
    import requests

    wiki = wiki_module()
    token = _CURRENT.set(_CallContext(api_url, session, time.monotonic() + timeout_s, user_agent, max_bytes))
    try:
        yield
    except _TooBig:
        raise WikipediaError(f"Wikipedia at {api_url} sent an answer larger than {max_bytes:,} bytes.") from None
    except safe_json.JsonLimitError as exc:
        raise WikipediaError(f"Wikipedia at {api_url} sent an unreadable answer ({exc}).") from None
    except requests.Timeout:
        raise WikipediaError(f"Wikipedia at {api_url} did not answer within {timeout_s:g} s.") from None
    except requests.ConnectionError as exc:
        raise WikipediaError(f"Could not reach Wikipedia at {api_url}: {_reason(exc)}.") from None
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise WikipediaError(f"Wikipedia at {api_url} answered HTTP {status}.") from None
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:  # an unexpected shape
        raise WikipediaError(f"Wikipedia at {api_url} sent an unreadable answer ({type(exc).__name__}).") from None
    except wiki.WikipediaException as exc:
        raise WikipediaError(f"Wikipedia at {api_url} reported an error: {exc}") from None
    finally:
        _CURRENT.reset(token)


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "Connection refused" in text or "ECONNREFUSED" in text:
        return "connection refused"
    if "Name or service not known" in text or "getaddrinfo" in text:
        return "unknown host"
    return type(exc).__name__
