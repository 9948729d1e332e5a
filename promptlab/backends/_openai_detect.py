"""Which server family answers an OpenAI-compatible URL, so its own knob names can be used.

``/v1/models`` (read anyway to choose the model) names the owner of each model on vLLM
(``vllm``), SGLang (``sglang``) and llama.cpp's ``llama-server`` (``llamacpp``). Otherwise
one small GET each, in order, until one answers: ``/props`` (llama-server), ``/version``
(vLLM, SGLang), ``/openapi.json`` titled "llama.cpp" (llama-cpp-python's server, whose
models are owned by ``me``). A server that answers none is spoken to in the strict
``openai`` dialect (``top_k`` and ``repetition_penalty`` are then refused, never dropped).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from promptlab.backends._exchange import HttpFlow, HttpRequest, RetryPolicy, request_with_retries
from promptlab.backends._openai_protocol import parse_json
from promptlab.errors import ServerResponseError

OWNERS = {"vllm": "vllm", "sglang": "sglang", "llamacpp": "llama-cpp", "llama.cpp": "llama-cpp"}
"""``owned_by`` in ``/v1/models`` -> dialect."""


def dialect_from_models(listing: Any) -> str | None:
    """The dialect a ``/v1/models`` listing names through ``owned_by``, if any."""
    models = listing.get("data") if isinstance(listing, dict) else None
    for model in models if isinstance(models, list) else []:
        owner = model.get("owned_by") if isinstance(model, dict) else None
        if isinstance(owner, str) and owner.lower() in OWNERS:
            return OWNERS[owner.lower()]
    return None


def _props(data: Any) -> str | None:
    keys = ("default_generation_settings", "build_info", "total_slots")
    return "llama-cpp" if isinstance(data, dict) and any(k in data for k in keys) else None


def _version(data: Any) -> str | None:
    return "vllm" if isinstance(data, dict) and isinstance(data.get("version"), str) else None


def _openapi(data: Any) -> str | None:
    info = data.get("info") if isinstance(data, dict) else None
    title = info.get("title") if isinstance(info, dict) else None
    return "llama-cpp" if isinstance(title, str) and "llama.cpp" in title.lower() else None


PROBES: tuple[tuple[str, Callable[[Any], str | None]], ...] = (
    ("/props", _props),
    ("/version", _version),
    ("/openapi.json", _openapi),
)
"""Paths under the server root (the base URL without ``/v1``) and how each answer names a dialect."""


def probe_dialect(root: str, policy: RetryPolicy) -> HttpFlow[str]:
    """Ask the probe paths in order; ``"openai"`` when none identifies the server."""
    for path, identify in PROBES:
        reply = yield from request_with_retries(HttpRequest("GET", root + path), policy)
        if 200 <= reply.status < 300:
            try:
                found = identify(parse_json(reply.body, root + path))
            except ServerResponseError:  # not JSON: not the server this probe looks for
                found = None
            if found is not None:
                return found
    return "openai"
