"""What a sandboxed program may touch: builtins, modules (as proxies) and the guards RestrictedPython calls.

This module runs inside the sandbox worker, which must stay lean: it imports only the standard library and
RestrictedPython, never the rest of promptlab.
"""

from __future__ import annotations
import __future__

import _strptime
import builtins
import collections
import datetime
import decimal
import fractions
import functools
import itertools
import math
import operator
import re
import statistics
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

__all__ = [
    "ALLOWED_MODULES",
    "ALLOWED_NAMES",
    "FILENAME",
    "FORBIDDEN_BUILTINS",
    "INTERNAL_MODULES",
    "SAFE_BUILTINS",
    "Forbidden",
    "ModuleProxy",
    "OutputBuffer",
    "Policy",
    "build_proxies",
    "inplace",
]

FILENAME = "<program>"
"""The file name compiled programs carry; traceback frames with it are the program's own lines."""

_EVERY_PUBLIC_NAME = None

ALLOWED_MODULES: Mapping[str, types.ModuleType] = {
    module.__name__: module
    for module in (math, fractions, decimal, statistics, itertools, functools, datetime, re, collections, __future__)
}

ALLOWED_NAMES: Mapping[str, tuple[str, ...] | None] = {
    # C modules of functions and constants: every public name.
    "math": _EVERY_PUBLIC_NAME,
    "itertools": _EVERY_PUBLIC_NAME,
    "__future__": _EVERY_PUBLIC_NAME,  # feature flags; only ``from __future__ import x`` can name it
    # The rest re-export other modules or hold functions that read attributes by name
    # (functools.update_wrapper, singledispatch), so they expose an explicit list.
    "fractions": ("Fraction",),
    "decimal": (
        "Decimal", "Context", "getcontext", "setcontext", "localcontext", "BasicContext", "ExtendedContext",
        "DefaultContext", "DecimalException", "InvalidOperation", "DivisionByZero", "Inexact", "Rounded", "Overflow",
        "Underflow", "Subnormal", "Clamped", "FloatOperation", "ROUND_DOWN", "ROUND_HALF_UP", "ROUND_HALF_EVEN",
        "ROUND_CEILING", "ROUND_FLOOR", "ROUND_UP", "ROUND_HALF_DOWN", "ROUND_05UP", "MAX_PREC", "MAX_EMAX",
        "MIN_EMIN", "MIN_ETINY",
    ),
    "statistics": (
        "mean", "fmean", "geometric_mean", "harmonic_mean", "median", "median_low", "median_high",
        "median_grouped", "mode", "multimode", "quantiles", "pstdev", "pvariance", "stdev", "variance",
        "correlation", "covariance", "linear_regression", "NormalDist", "StatisticsError",
    ),
    "functools": ("reduce", "partial", "lru_cache", "cache", "cmp_to_key"),
    "datetime": ("date", "datetime", "time", "timedelta", "timezone", "MINYEAR", "MAXYEAR", "UTC"),
    "re": (
        "compile", "search", "match", "fullmatch", "split", "findall", "finditer", "sub", "subn", "escape",
        "error", "Pattern", "Match", "A", "ASCII", "I", "IGNORECASE", "M", "MULTILINE", "S", "DOTALL", "X",
        "VERBOSE", "U", "UNICODE", "NOFLAG",
    ),
    "collections": ("Counter", "defaultdict", "deque", "OrderedDict", "namedtuple", "ChainMap"),
}

SAFE_BUILTINS: tuple[str, ...] = (
    "abs", "all", "any", "ascii", "bin", "bool", "callable", "chr", "complex", "dict", "divmod", "enumerate",
    "filter", "float", "format", "frozenset", "hash", "hex", "id", "int", "isinstance", "issubclass", "iter", "len",
    "list", "map", "max", "min", "next", "oct", "ord", "pow", "range", "repr", "reversed", "round", "set", "slice",
    "sorted", "str", "sum", "tuple", "zip", "Ellipsis", "NotImplemented",
    "ArithmeticError", "AssertionError", "AttributeError", "BaseException", "Exception", "FloatingPointError",
    "ImportError", "IndexError", "KeyError", "LookupError", "MemoryError", "NameError", "NotImplementedError",
    "OverflowError", "RecursionError", "RuntimeError", "StopIteration", "TypeError", "UnboundLocalError",
    "UnicodeError", "ValueError", "ZeroDivisionError",
)

FORBIDDEN_BUILTINS: Mapping[str, str] = {
    "open": "has no files",
    "input": "has no input",
    "eval": "runs no code built at run time",
    "exec": "runs no code built at run time",
    "compile": "runs no code built at run time",
    "globals": "does not expose namespaces",
    "locals": "does not expose namespaces",
    "vars": "does not expose namespaces",
    "dir": "does not expose namespaces",
    "type": "does not hand out types",
    "object": "does not hand out types",
    "super": "does not hand out types",
    "classmethod": "does not hand out descriptors",
    "staticmethod": "does not hand out descriptors",
    "property": "does not hand out descriptors",
    "memoryview": "does not hand out buffers",
    "breakpoint": "has no debugger",
    "help": "has no interactive help",
    "exit": "cannot be exited; return a value instead",
    "quit": "cannot be exited; return a value instead",
}

INTERNAL_MODULES: Mapping[str, types.ModuleType] = {"_strptime": _strptime}
"""Modules that allowed C functions import for themselves (``datetime.strptime``); programs cannot name them,
since RestrictedPython refuses names starting with ``_``."""

_DENIED_ATTRIBUTES = frozenset(INSPECT_ATTRIBUTES | {"mro"})
_DANGEROUS_VALUES = (types.ModuleType, types.FrameType, types.CodeType, types.TracebackType)
_WRITABLE = (dict, list, collections.deque, collections.ChainMap, decimal.Context)
_INPLACE: Mapping[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor, "@=": operator.imatmul,
}
_MISSING = object()


class Forbidden(BaseException):
    """The program reached for something the policy refuses.

    It derives from BaseException so that a program's ``except Exception`` does not swallow it; a program that
    catches it anyway still ends as "forbidden" (the refusal is recorded in the run's ``Policy``).
    """


class ModuleProxy:
    """Stands in for an allowed module and holds only the allowed names.

    Its ``__name__`` is not a module's name, so ``from collections import abc`` cannot fall back to
    ``sys.modules["collections.abc"]`` (which CPython's ``from ... import`` does for a missing attribute).
    """

    __slots__ = ("_attrs", "_hidden", "_name")

    def __init__(self, name: str, attrs: Mapping[str, Any], hidden: frozenset[str]) -> None:
        self._name = name
        self._attrs = dict(attrs)
        self._hidden = hidden

    @property
    def __name__(self) -> str:
        return f"{self._name} (sandboxed)"

    def __getattr__(self, attr: str) -> Any:
        try:
            return self._attrs[attr]
        except KeyError:
            if attr in self._hidden:  # reached by ``from module import name``
                raise Forbidden(f"{self._name}.{attr} is not available in the sandbox") from None
            raise AttributeError(f"module {self._name!r} has no attribute {attr!r}") from None

    def __repr__(self) -> str:
        return f"<sandboxed module {self._name!r}>"


def _public_names(module: types.ModuleType) -> list[str]:
    return [n for n in vars(module) if not n.startswith("_")]


def build_proxies() -> dict[str, ModuleProxy]:
    """One proxy per allowed module; a name missing from this Python's version of the module is skipped."""
    proxies = {}
    for name, module in ALLOWED_MODULES.items():
        wanted = ALLOWED_NAMES[name]
        names = _public_names(module) if wanted is None else [n for n in wanted if hasattr(module, n)]
        attrs = {n: getattr(module, n) for n in names}
        if any(isinstance(v, _DANGEROUS_VALUES) for v in attrs.values()):
            raise RuntimeError(f"the sandbox would expose a module through {name!r}")  # a Python upgrade did it
        proxies[name] = ModuleProxy(name, attrs, frozenset(_public_names(module)) - attrs.keys())
    return proxies


class OutputBuffer:
    """What the program printed, kept up to ``limit`` characters; the rest is counted, not stored."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._parts: list[str] = []
        self._size = 0
        self.dropped = 0

    def write(self, text: str) -> None:
        room = self.limit - self._size
        kept = text[:room] if room > 0 else ""
        if kept:
            self._parts.append(kept)
            self._size += len(kept)
        self.dropped += len(text) - len(kept)

    def flush(self) -> None:
        """Nothing to flush; ``print(..., flush=True)`` calls it."""

    def getvalue(self) -> str:
        text = "".join(self._parts)
        if self.dropped:
            text += f"\n[output truncated: {self.dropped} more characters]"
        return text


class _PrintScope:
    """What RestrictedPython's rewritten ``print`` and ``printed`` call (one per function that prints)."""

    def __init__(self, out: OutputBuffer, getattr_: Callable[..., Any]) -> None:
        self._out = out
        self._getattr = getattr_

    def _call_print(self, *objects: Any, **kwargs: Any) -> None:
        if kwargs.get("file") is None:
            kwargs["file"] = self._out
        else:
            self._getattr(kwargs["file"], "write")
        print(*objects, **kwargs)

    def __call__(self) -> str:
        return self._out.getvalue()


class Policy:
    """The guards and namespace of one run; records the first refusal so that catching it does not hide it."""

    def __init__(self, proxies: Mapping[str, ModuleProxy], max_output: int) -> None:
        self.proxies = proxies
        self.output = OutputBuffer(max_output)
        self.violation: str | None = None
        self.violation_line: int | None = None
        self._user_classes: set[type] = set()
        self._raised: list[BaseException] = []
        self._builtins = self._make_builtins()
        self._allowed_builtin_values = {id(v) for v in self._builtins.values()}

    def forbid(self, message: str) -> NoReturn:
        if self.violation is None:
            self.violation = message
            self.violation_line = _program_line(sys._getframe(1))
        raise Forbidden(message)

    def mark_raise(self, value: Any) -> Any:
        """``raise X`` in a program raises ``mark_raise(X)``: a MemoryError it raises is then told from a real one."""
        if isinstance(value, type) and issubclass(value, MemoryError):
            value = value()
        if isinstance(value, MemoryError):
            self._raised.append(value)
        return value

    def raised_by_program(self, exc: BaseException) -> bool:
        """Whether the program raised ``exc`` itself (with ``raise``), rather than the interpreter."""
        return any(exc is raised for raised in self._raised)

    def namespace(self) -> dict[str, Any]:
        """The globals a compiled program runs in (with its own ``__builtins__``, never the real ones)."""
        return {
            "__builtins__": self._builtins,
            "__name__": "program",
            "__metaclass__": self.make_class,
            "_getattr_": self.getattr,
            "_getitem_": self.getitem,
            "_getiter_": iter,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_write_": self.write_guard,
            "_inplacevar_": inplace,
            "_inplace_item_": self.inplace_item,
            "_inplace_attr_": self.inplace_attr,
            "_raise_": self.mark_raise,
            "_apply_": _apply,
            "_print_": lambda getattr_=None: _PrintScope(self.output, self.getattr),
        }

    def _make_builtins(self) -> dict[str, Any]:
        table: dict[str, Any] = {name: getattr(builtins, name) for name in SAFE_BUILTINS}
        table.update(
            __build_class__=builtins.__build_class__,
            __import__=self.import_module,
            getattr=self.getattr,
            hasattr=self.hasattr,
            setattr=self.setattr,
            delattr=self.delattr,
        )
        for name, reason in FORBIDDEN_BUILTINS.items():
            table[name] = self._refusal(f"{name}() is not allowed: the sandbox {reason}")
        return table

    def _refusal(self, message: str) -> Callable[..., NoReturn]:
        def refuse(*args: Any, **kwargs: Any) -> NoReturn:
            self.forbid(message)
        return refuse

    def import_module(
        self, name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0,
    ) -> ModuleProxy | types.ModuleType:
        if level:
            self.forbid("relative imports are not allowed")
        if name in INTERNAL_MODULES:
            return INTERNAL_MODULES[name]
        proxy = self.proxies.get(name)
        if proxy is None:
            allowed = ", ".join(sorted(n for n in self.proxies if not n.startswith("_")))
            self.forbid(f"import of {name!r} is not allowed; the sandbox allows {allowed}")
        return proxy

    def check_attribute(self, obj: Any, name: Any) -> None:
        if type(name) is not str:
            raise TypeError("attribute name must be a string")
        if name.startswith("_"):
            self.forbid(f"attribute {name!r} is not allowed: names starting with '_' are off limits")
        if name in _DENIED_ATTRIBUTES:
            self.forbid(f"attribute {name!r} is not allowed: it exposes interpreter internals")
        if name in ("format", "format_map") and (
            isinstance(obj, str) or (isinstance(obj, type) and issubclass(obj, str))
        ):
            self.forbid(f"str.{name} is not allowed (its fields can reach internals); use an f-string")
        if isinstance(obj, types.ModuleType):
            self.forbid("module objects are not available in the sandbox")
        if isinstance(obj, ModuleProxy) and name in obj._hidden:
            self.forbid(f"{obj._name}.{name} is not available in the sandbox")

    def getattr(self, obj: Any, name: Any, default: Any = _MISSING) -> Any:
        self.check_attribute(obj, name)
        try:
            value = getattr(obj, name)
        except AttributeError:
            if default is _MISSING:
                raise
            return default
        if isinstance(value, _DANGEROUS_VALUES) or (
            isinstance(value, types.BuiltinFunctionType)
            and getattr(value, "__self__", None) is builtins
            and id(value) not in self._allowed_builtin_values
        ):
            self.forbid(f"attribute {name!r} leads to interpreter internals")
        return value

    def getitem(self, obj: Any, key: Any) -> Any:
        value = obj[key]
        if isinstance(value, _DANGEROUS_VALUES):
            self.forbid("that item is an interpreter internal")
        return value

    def hasattr(self, obj: Any, name: Any) -> bool:
        return self.getattr(obj, name, _MISSING) is not _MISSING

    def setattr(self, obj: Any, name: Any, value: Any) -> None:
        self.check_attribute(obj, name)
        setattr(self.write_guard(obj), name, value)

    def delattr(self, obj: Any, name: Any) -> None:
        self.check_attribute(obj, name)
        delattr(self.write_guard(obj), name)

    def write_guard(self, obj: Any) -> Any:
        """Containers, decimal contexts and instances of the program's own classes may be written to."""
        if isinstance(obj, _WRITABLE) or type(obj) in self._user_classes:
            return obj
        return full_write_guard(obj)

    def inplace_item(self, obj: Any, key: Any, op: str, operand: Any) -> None:
        """``obj[key] op= operand`` (the program's ``counts[word] += 1``)."""
        self.write_guard(obj)[key] = inplace(op, obj[key], operand)

    def inplace_attr(self, obj: Any, name: str, op: str, operand: Any) -> None:
        """``obj.name op= operand`` (the program's ``self.total += x``)."""
        self.setattr(obj, name, inplace(op, self.getattr(obj, name), operand))

    def make_class(self, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> type:
        """The metaclass of the program's classes: a plain ``type``, remembered so its instances are writable."""
        cls = type(name, bases, namespace)
        self._user_classes.add(cls)
        return cls


def inplace(op: str, target: Any, operand: Any) -> Any:
    """``target op= operand`` for a name (RestrictedPython's ``_inplacevar_``)."""
    return _INPLACE[op](target, operand)


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def _program_line(frame: types.FrameType | None) -> int | None:
    """The program line that led to ``frame`` (the innermost frame compiled from the program)."""
    while frame is not None:
        if frame.f_code.co_filename == FILENAME:
            return frame.f_lineno
        frame = frame.f_back
    return None
