"""Compile a program with RestrictedPython, run it under a Policy, and describe the outcome as plain data.

Runs inside the sandbox's per-run child process (already under its resource limits); like ``policy`` it imports
only the standard library and RestrictedPython.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from RestrictedPython.compile import compile_restricted_exec
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, IOPERATOR_TO_STR, RestrictingNodeTransformer

from promptlab.sandbox.policy import FILENAME, Forbidden, ModuleProxy, Policy

__all__ = ["MAX_ERROR_CHARS", "MAX_VALUE_BYTES", "Unreturnable", "execute", "outcome", "to_plain"]

MAX_VALUE_BYTES = 1_000_000
MAX_ERROR_CHARS = 2_000
_MAX_DEPTH = 100
_LINE_PREFIX = re.compile(r"^Line (\d+): (.*)$", re.DOTALL)


class Unreturnable(Exception):
    """The called function returned something that is not plain data."""


class _Transformer(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus ``x[k] += v``, ``x.a += v`` (through the write guard) and ``x: int = 1``."""

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        """``x: T = v`` becomes ``x = v`` (annotations are never evaluated); a bare ``x: T`` does nothing."""
        if node.value is None:
            return ast.copy_location(ast.Pass(), node)
        assign = ast.copy_location(ast.Assign(targets=[node.target], value=node.value), node)
        return self.visit(assign)

    def visit_Raise(self, node: ast.Raise) -> Any:
        """``raise X`` becomes ``raise _raise_(X)``, so the policy knows which exceptions the program raised."""
        node = self.node_contents_visit(node)
        if node.exc is not None:
            node.exc = ast.copy_location(ast.Call(ast.Name("_raise_", ast.Load()), [node.exc], []), node.exc)
            ast.fix_missing_locations(node)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        target = node.target
        if isinstance(target, ast.Name):
            return super().visit_AugAssign(node)
        op = ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        if isinstance(target, ast.Subscript):
            func, key = "_inplace_item_", self.visit(target.slice)
        elif isinstance(target, ast.Attribute):
            if target.attr.startswith("_") or target.attr in INSPECT_ATTRIBUTES:
                self.error(node, f'"{target.attr}" is an invalid attribute name.')
            func, key = "_inplace_attr_", ast.Constant(target.attr)
        else:  # pragma: no cover - the grammar allows no other targets
            return self.not_allowed(node)
        call = ast.Call(ast.Name(func, ast.Load()), [self.visit(target.value), key, op, self.visit(node.value)], [])
        statement = ast.Expr(call)
        ast.copy_location(statement, node)
        return ast.fix_missing_locations(statement)


def outcome(status: str, *, value: Any = None, stdout: str = "", error: str | None = None,
            line: int | None = None) -> dict[str, Any]:
    """The result record a run sends back (the fields of ``SandboxResult`` except the duration)."""
    if error is not None and len(error) > MAX_ERROR_CHARS:
        error = error[:MAX_ERROR_CHARS] + " [...]"
    return {"status": status, "value": value, "stdout": stdout, "error": error, "line": line}


def execute(code: str, call: str | None, proxies: Mapping[str, ModuleProxy], *, max_output: int,
            memory_mb: int | None = None) -> dict[str, Any]:
    """Run ``code``, then ``call()`` if given; never raises (every failure is an outcome)."""
    policy = Policy(proxies, max_output)
    status, value, message, line = "ok", None, None, None
    try:
        value = _run(code, call, policy)
        if policy.violation is None:
            value = to_plain(value)
            if len(json.dumps(value)) > MAX_VALUE_BYTES:
                raise Unreturnable(f"the value is too large to return (over {MAX_VALUE_BYTES} bytes as JSON)")
    except _Refused as exc:
        status, message, line = exc.status, exc.message, exc.line
    except MemoryError as exc:
        if policy.raised_by_program(exc):  # ``raise MemoryError(...)``: the limit was not hit
            status, message, line = "error", _describe(exc), _error_line(exc)
        else:
            limit = f" of {memory_mb} MB" if memory_mb else ""
            status, message, line = "memory", f"the program ran out of memory (limit{limit})", _error_line(exc)
    except Unreturnable as exc:
        status, message = "error", str(exc)
    except Forbidden as exc:  # raised outside the policy's guards (a module proxy's ``from ... import``)
        status, message, line = "forbidden", str(exc), _error_line(exc)
    except BaseException as exc:
        status, message, line = "error", _describe(exc), _error_line(exc)
    if policy.violation is not None:
        status, message, line = "forbidden", policy.violation, policy.violation_line
    if message is not None and line is not None:
        message = f"{message} (line {line})"
    return outcome(status, value=value if status == "ok" else None, stdout=policy.output.getvalue(),
                   error=message, line=line)


class _Refused(Exception):
    def __init__(self, status: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.line = status, message, line


def _run(code: str, call: str | None, policy: Policy) -> Any:
    try:
        tree = ast.parse(code, FILENAME)
        compiled = compile_restricted_exec(tree, FILENAME, policy=_Transformer)
    except SyntaxError as exc:
        raise _Refused("error", f"{type(exc).__name__}: {exc.msg}", exc.lineno) from None
    except RecursionError:
        raise _Refused("error", "the program is nested too deeply to compile") from None
    if compiled.errors or compiled.code is None:
        if not compiled.errors:  # pragma: no cover - RestrictedPython returns code or errors
            raise _Refused("error", "the program could not be compiled")
        match = _LINE_PREFIX.match(compiled.errors[0])
        if match is None:
            raise _Refused("forbidden", compiled.errors[0])
        raise _Refused("forbidden", match.group(2), int(match.group(1)))
    namespace = policy.namespace()
    exec(compiled.code, namespace)
    if call is None:
        return None
    function = namespace.get(call)
    if not callable(function):
        raise _Refused("error", f"the program defines no function {call}()")
    return function()


def to_plain(value: Any, depth: int = 0) -> Any:
    """JSON-safe data from a returned value; Fraction and Decimal become floats, sets become lists."""
    if depth > _MAX_DEPTH:
        raise Unreturnable("the value is nested too deeply (or contains itself)")
    if value is None or type(value) in (bool, int, float, str):
        if type(value) is int and value.bit_length() > 10_000:
            raise Unreturnable("the value is an integer too large to return")
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return to_plain(int(value), depth)
    if isinstance(value, (float, Fraction, Decimal)):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [to_plain(item, depth + 1) for item in value]
    if isinstance(value, (set, frozenset)):
        items = [to_plain(item, depth + 1) for item in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, dict):
        return {_plain_key(key): to_plain(item, depth + 1) for key, item in value.items()}
    raise Unreturnable(
        f"a value of type {type(value).__name__} cannot be returned; return a number, string, list or dict"
    )


def _plain_key(key: Any) -> str:
    if isinstance(key, str):
        return str(key)
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(to_plain(key))
    raise Unreturnable(f"a dict key of type {type(key).__name__} cannot be returned; use strings or numbers")


def _describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:
        text = ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _error_line(exc: BaseException) -> int | None:
    """The last line of the program in the traceback (where the error surfaced in the program's own code)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
