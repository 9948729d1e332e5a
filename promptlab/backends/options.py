"""Backend options from text: a spec's ``?key=value&...`` part and the CLI's ``--backend-option``.

Each option is checked against the signature of the backend's constructor: an unknown key
raises :class:`BackendSpecError` listing the valid ones, and a value is converted to the
parameter's annotation (``n_ctx=8192`` -> ``8192``, ``flash_attn=true`` -> ``True``,
``none`` -> ``None`` where allowed). A mapping parameter takes ``NAME=VALUE`` entries, one
per repetition (``adapters=math=/loras/math``); ``KEY=NAME=VALUE`` for a parameter ``KEY``
beside a mapping ``KEYs`` adds the entry and selects it (``adapter=math=/loras/math``).
"""

from __future__ import annotations

import collections.abc
import inspect
import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

from pydantic import ConfigDict, TypeAdapter, ValidationError

from promptlab.errors import BackendSpecError

__all__ = ["bind_options", "split_spec", "with_options"]

_NONE_WORDS = frozenset({"none", "null"})


def split_spec(spec: str) -> tuple[str, dict[str, list[str]]]:
    """``"llamacpp:m.gguf?n_ctx=8192"`` -> ``("llamacpp:m.gguf", {"n_ctx": ["8192"]})``.

    Everything after the last ``?`` is the option part; keys may repeat.
    """
    head, sep, query = spec.rpartition("?")
    if not sep:
        return spec, {}
    options: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        options.setdefault(key.strip(), []).append(value)
    if "" in options:
        raise BackendSpecError(f"the options of {spec!r} must look like ?KEY=VALUE&KEY=VALUE")
    return head, options


def with_options(spec: str, pairs: Sequence[str]) -> str:
    """``spec`` with ``KEY=VALUE`` pairs (the CLI's ``--backend-option``) appended to its options."""
    items: list[tuple[str, str]] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BackendSpecError(f"backend option {pair!r} must look like KEY=VALUE, e.g. n_ctx=8192")
        items.append((key.strip(), value))
    if not items:
        return spec
    return spec + ("&" if "?" in spec else "?") + urlencode(items)


def bind_options(
    backend: str, constructor: Callable[..., Any], texts: Mapping[str, list[str]], values: Mapping[str, Any],
    *, skip: int = 1, extra: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``constructor``: ``texts`` converted to its annotations, ``values`` as given.

    Both are checked against its keyword parameters. ``skip`` leading parameters (the spec's
    target) are not options. ``extra`` is a second signature whose parameters are accepted
    too (where the constructor passes ``**kwargs`` on, e.g. to ``llama_cpp.Llama``).
    """
    hints = _parameters(constructor, skip)
    if extra is not None:
        hints = {**_parameters(extra, skip), **hints}
    for key in [*texts, *values]:
        if key not in hints:
            valid = ", ".join(sorted(hints)) or "none"
            raise BackendSpecError(f"the {backend} backend has no option {key!r}; valid options: {valid}")
    bound: dict[str, Any] = {}
    for key, given in texts.items():
        if _is_mapping(hints[key]):
            bound[key] = {**bound.get(key, {}), **_convert(backend, key, hints[key], _entries(key, given))}
        elif len(given) == 1 and "=" in given[0] and _is_mapping(hints.get(key + "s")):
            name, value = _entries(key, given).popitem()
            bound[key + "s"] = {**bound.get(key + "s", {}), name: value}
            bound[key] = name
        elif len(given) > 1:
            raise BackendSpecError(f"backend option {key!r} is given {len(given)} times; give it once")
        else:
            bound[key] = _convert(backend, key, hints[key], given[0])
    return {**bound, **values}


def _parameters(function: Callable[..., Any], skip: int) -> dict[str, Any]:
    """Keyword-settable parameters of ``function`` and their annotations (``Any`` when unreadable)."""
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # an annotation naming a type that is not importable here: accept any value
        hints = {}
    parameters = list(inspect.signature(function).parameters.values())
    if parameters and parameters[0].name in ("self", "cls"):
        parameters = parameters[1:]
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name: hints.get(p.name, Any) for p in parameters[skip:] if p.kind in kinds}


def _convert(backend: str, key: str, annotation: Any, value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _NONE_WORDS and _allows_none(annotation):
        return None
    if isinstance(value, str) and value.lstrip().startswith(("{", "[")) and not _is_text(annotation):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise BackendSpecError(f"backend option {key}={value!r} is not valid JSON: {exc.msg}") from None
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(annotation, config=ConfigDict(arbitrary_types_allowed=True))
        return adapter.validate_python(value)
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"] if exc.errors() else str(exc)
        raise BackendSpecError(f"the {backend} backend option {key}={value!r} is invalid: {problem}") from None
    except Exception:  # a type pydantic cannot check (e.g. torch.dtype): the backend checks it
        return value


def _entries(key: str, texts: list[str]) -> dict[str, str]:
    entries: dict[str, str] = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise BackendSpecError(f"backend option {key}={text!r} must look like {key}=NAME=VALUE")
        entries[name.strip()] = value
    return entries


def _members(annotation: Any) -> tuple[Any, ...]:
    return typing.get_args(annotation) if _is_union(annotation) else (annotation,)


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _allows_none(annotation: Any) -> bool:
    return annotation is Any or type(None) in _members(annotation)


def _is_text(annotation: Any) -> bool:
    return str in _members(annotation)


def _is_mapping(annotation: Any) -> bool:
    if annotation is None:
        return False
    return any(typing.get_origin(m) in (dict, collections.abc.Mapping) for m in _members(annotation))
