"""The sandboxed Jinja environment every prompt template is compiled and rendered in."""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.ext import Extension, loopcontrols
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from promptlab._render_limits import Budget, Guard, RenderLimits, ResourceLimitError, replace_estimate
from promptlab.errors import TemplateError, TemplateSecurityError

_BUDGET_KEY = "promptlab budget"  # not an identifier, so no template can name it
_STEPS = "_promptlab_steps"
_CONCAT = "_promptlab_concat"
_CONTAINS = "_promptlab_contains"


class PromptEnvironment(ImmutableSandboxedEnvironment):
    """ImmutableSandboxedEnvironment + StrictUndefined + bounds on size, steps and output.

    Prompt templates (``promptlab.prompts``) and model chat templates (``promptlab.chat``,
    with ``undefined=jinja2.Undefined`` as transformers renders them) share it.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, limits: RenderLimits | None = None, *,
                 undefined: type[jinja2.Undefined] = jinja2.StrictUndefined,
                 extensions: Sequence[type[Extension]] = ()) -> None:
        super().__init__(
            undefined=undefined, trim_blocks=True, lstrip_blocks=True, autoescape=False,
            finalize=self._finalize, extensions=[loopcontrols, *extensions],
        )
        self.guard = Guard(limits or RenderLimits())
        self.globals.pop("lipsum", None)
        self.globals["range"] = self._range
        self.filters = {name: _guard_filter(name, func, self.guard) for name, func in self.filters.items()}
        self.filters[_STEPS] = jinja2.pass_context(_steps)
        self.filters[_CONCAT] = self._concat
        self.filters[_CONTAINS] = self._contains
        self.concat = self._bounded_join  # type: ignore[method-assign]

    def add_filter(self, name: str, func: Callable[..., Any]) -> None:
        """Install a filter under the same size checks as Jinja's own."""
        self.filters[name] = _guard_filter(name, func, self.guard)

    # -- compiling ------------------------------------------------------------------

    def compile_template(self, source: str, *, name: str, filename: str) -> tuple[jinja2.Template, frozenset[str]]:
        """Compile ``source``; return the template and the variables it reads from outside.

        Raises jinja2.TemplateSyntaxError (the caller adds the file name).
        """
        tree = self.parse(source, name, filename)
        undeclared = frozenset(meta.find_undeclared_variables(tree)) - set(self.globals)
        _LimitRewriter().visit(tree)
        code = self.compile(tree, name, filename)
        return self.template_class.from_code(self, code, self.make_globals(None)), undeclared

    # -- rendering ------------------------------------------------------------------

    def render(self, template: jinja2.Template, variables: Mapping[str, Any], *, where: str,
               output_so_far: int = 0) -> str:
        """Render within the limits; every failure becomes a TemplateError that names ``where``."""
        limit = self.guard.limits.max_output_chars
        total = output_so_far
        parts: list[str] = []
        try:
            for chunk in template.generate({**variables, _BUDGET_KEY: Budget(self.guard.limits)}):
                total += len(chunk)
                if total > limit:
                    raise ResourceLimitError(
                        f"the rendered prompt is longer than {limit:,} characters (RenderLimits.max_output_chars)"
                    )
                parts.append(chunk)
        except Exception as exc:
            raise translate_error(exc, where, template.filename) from exc
        return "".join(parts)

    # -- hooks called by the compiled template code ----------------------------------------

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _spend(context)
        self.guard.binop(operator, left, right)
        return self.guard.check_value(super().call_binop(context, operator, left, right), f"the result of {operator!r}")

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _spend(__context)
        if isinstance(__obj, LoopContext) and args and budget is not None:  # recursive loop: loop(children)
            args = (budget.iterate(args[0]), *args[1:])
        owner = getattr(__obj, "__self__", None)
        if isinstance(__obj, types.BuiltinMethodType) and isinstance(owner, str | bytes):
            if __obj.__name__ == "join" and args and not isinstance(args[0], Sized):
                args = (list(args[0]), *args[1:])  # measure a generator's items before joining them
            __self.guard.str_method(__obj.__name__, owner, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        return __self.guard.check_value(result, f"the result of {getattr(__obj, '__name__', 'a call')}()")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template: str = value.__self__
        is_format_map = value.__name__ == "format_map"

        @functools.wraps(wrapped)
        def checked(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                mapping = args[0] if args and isinstance(args[0], Mapping) else {}
                self.guard.check_format(template, (), mapping)
            else:
                self.guard.check_format(template, args, kwargs)
            return wrapped(*args, **kwargs)

        return checked

    def _finalize(self, value: Any) -> Any:
        if not isinstance(value, str):
            self.guard.check_text(value, "an output value")
        return value

    def _range(self, *args: int) -> range:
        numbers = range(*args)
        try:
            count = len(numbers)
        except OverflowError:
            count = self.guard.limits.max_range + 1
        if count > self.guard.limits.max_range:
            raise self.guard.refuse("range()", count, self.guard.limits.max_range, "max_range")
        return numbers

    def _concat(self, parts: list[Any]) -> str:
        for part in parts:
            self.guard.check_text(part, "an operand of '~'")
        text = "".join(map(str, parts))
        return str(self.guard.check_value(text, "the result of '~'"))

    def _contains(self, operands: list[Any]) -> bool:
        needle, haystack = operands
        self.guard.check_contains(needle, haystack)
        return bool(needle in haystack)

    def _bounded_join(self, parts: Iterable[str]) -> str:
        items = list(parts)
        self.guard.check_estimate(sum(map(len, items)), "a captured block (macro, set or filter block)")
        return "".join(items)


def _spend(context: Context) -> Budget | None:
    budget = context.get(_BUDGET_KEY)
    if isinstance(budget, Budget):
        budget.spend()
        return budget
    return None


def _steps(context: Context, items: Iterable[Any]) -> Iterable[Any]:
    budget = context.get(_BUDGET_KEY)
    return budget.iterate(items) if isinstance(budget, Budget) else items


class _LimitRewriter(NodeTransformer):
    """Route every ``for`` loop through the step budget and every ``~`` through a size check."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _STEPS, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        """``a in b`` and ``a not in b`` go through a work check (one comparison per item of ``b``)."""
        self.generic_visit(node)
        if len(node.ops) != 1 or node.ops[0].op not in ("in", "notin"):
            return node
        operands = nodes.List([node.expr, node.ops[0].expr], lineno=node.lineno)
        test: nodes.Expr = nodes.Filter(operands, _CONTAINS, [], [], None, None, lineno=node.lineno)
        return nodes.Not(test, lineno=node.lineno) if node.ops[0].op == "notin" else test

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        operands = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(operands, _CONCAT, [], [], None, None, lineno=node.lineno)


# -- filters --------------------------------------------------------------------------------

FilterCheck = Callable[[Guard, Any, tuple[Any, ...], dict[str, Any]], Any]


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _check_indent(guard: Guard, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    width = _arg(args, kwargs, 0, "width", 4)
    pad = width if isinstance(width, int) else len(width) if isinstance(width, str) else 0
    text = value if isinstance(value, str) else ""
    guard.check_estimate(len(text) + (text.count("\n") + 1) * max(pad, 0), "the result of the 'indent' filter")
    return value


def _check_wordwrap(guard: Guard, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    width = _arg(args, kwargs, 0, "width", 79)
    wrapstring = _arg(args, kwargs, 2, "wrapstring", None) or "\n"
    text = value if isinstance(value, str) else ""
    lines = len(text) // max(width, 1) + text.count("\n") + 1 if isinstance(width, int) else len(text)
    guard.check_estimate(len(text) + lines * len(wrapstring), "the result of the 'wordwrap' filter")
    return value


def _check_replace(guard: Guard, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if len(args) >= 2:
        count = _arg(args, kwargs, 2, "count", None)
        estimate = replace_estimate(value, args[0], args[1], -1 if count is None else count)
        guard.check_estimate(estimate, "the result of the 'replace' filter")
    return value


def _check_join(guard: Guard, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    items = value if isinstance(value, str | Mapping) else list(value)
    guard.check_join(_arg(args, kwargs, 0, "d", ""), items)
    return items


def _check_tojson(guard: Guard, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    indent = _arg(args, kwargs, 0, "indent", None)
    if isinstance(indent, int) and indent > 16:
        raise ResourceLimitError(f"tojson indent {indent:,} is larger than 16")
    guard.check_text(value, "the value given to 'tojson'")
    return value


def _check_sum(guard: Guard, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    items = value if isinstance(value, list | tuple) else list(value)
    guard.check_sum(items)
    return items


def _check_first_width(guard: Guard, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    guard.check_width(args[0] if args else next(iter(kwargs.values()), 0), "a filter's width or count")
    return value


def _check_format(guard: Guard, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if isinstance(value, str):
        guard.check_percent_format(value, kwargs or args)
    return value


_FILTER_CHECKS: dict[str, FilterCheck] = {
    "center": _check_first_width,
    "batch": _check_first_width,
    "slice": _check_first_width,
    "indent": _check_indent,
    "wordwrap": _check_wordwrap,
    "replace": _check_replace,
    "join": _check_join,
    "tojson": _check_tojson,
    "sum": _check_sum,
    "format": _check_format,
}
# Filters that turn their input into text: a container input is measured first.
_STRINGIFYING = frozenset({
    "string", "pprint", "xmlattr", "urlencode", "escape", "e", "forceescape", "safe", "upper", "lower", "title",
    "capitalize", "trim", "striptags", "wordcount", "urlize", "truncate", "center", "indent", "wordwrap", "format",
})


def _guard_filter(name: str, func: Callable[..., Any], guard: Guard) -> Callable[..., Any]:
    """Wrap a Jinja filter with its size checks; keeps Jinja's pass_context/eval_context marker."""
    offset = 1 if hasattr(func, "jinja_pass_arg") else 0
    check = _FILTER_CHECKS.get(name)
    stringifies = name in _STRINGIFYING

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if len(args) > offset:
            value = args[offset]
            if stringifies and not isinstance(value, str):
                guard.check_text(value, f"the value given to the {name!r} filter")
            if check is not None:
                value = check(guard, value, args[offset + 1:], kwargs)
                args = (*args[:offset], value, *args[offset + 1:])
        return guard.check_value(func(*args, **kwargs), f"the result of the {name!r} filter")

    return guarded


# -- errors ---------------------------------------------------------------------------------


def translate_error(exc: BaseException, where: str, filename: str | None) -> TemplateError:
    """A TemplateError (or TemplateSecurityError) naming ``where`` and the template line."""
    line = _template_line(exc, filename)
    at = f"{where}, line {line}" if line else where
    if isinstance(exc, ResourceLimitError | SecurityError | RecursionError | MemoryError):
        reason = {RecursionError: "recursion too deep", MemoryError: "out of memory"}.get(type(exc), str(exc))
        return TemplateSecurityError(f"{at}: refused: {reason}")
    if isinstance(exc, TemplateError):
        return type(exc)(f"{at}: {exc}")
    if isinstance(exc, jinja2.UndefinedError):
        return TemplateError(f"{at}: {exc.message}")
    if isinstance(exc, jinja2.TemplateError):
        return TemplateError(f"{at}: {exc.message or type(exc).__name__}")
    return TemplateError(f"{at}: {type(exc).__name__}: {exc}")


def _template_line(exc: BaseException, filename: str | None) -> int | None:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if filename is not None and tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
