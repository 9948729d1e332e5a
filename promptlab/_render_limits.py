"""Resource limits for template rendering: bounded operators, calls, filters and loops.

Jinja's sandbox blocks Python internals but lets ``'a' * 10**10`` or ``10**10**8``
allocate freely. Every place where a template can build a big value or spend a lot of
CPU is checked here *before* the work happens, against :class:`RenderLimits`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass
from string import Formatter
from typing import Any

from jinja2.utils import Namespace

from promptlab.errors import TemplateSecurityError


class ResourceLimitError(TemplateSecurityError):
    """A template tried to build too big a value or to run too long."""


@dataclass(frozen=True)
class RenderLimits:
    """Bounds on one render; exceeding any of them raises TemplateSecurityError."""

    max_output_chars: int = 1_000_000
    """Characters in the rendered prompt (all messages together for chat templates)."""
    max_value_size: int = 1_000_000
    """Characters of any string, or items of any list, built while rendering."""
    max_range: int = 100_000
    """Items of one ``range(...)``."""
    max_steps: int = 1_000_000
    """Loop iterations plus calls (functions, macros, methods, operators) in one render."""
    max_int_bits: int = 4096
    """Bits of an integer built with ``*`` or ``**``."""
    max_seconds: float = 2.0
    """Wall-clock time of one render (checked at loop iterations and calls)."""


class Budget:
    """Steps and time left in one render."""

    def __init__(self, limits: RenderLimits) -> None:
        self._limits = limits
        self._left = limits.max_steps
        self._deadline = time.monotonic() + limits.max_seconds

    def spend(self) -> None:
        self._left -= 1
        if self._left < 0:
            raise ResourceLimitError(
                f"the render took more than {self._limits.max_steps:,} steps (loop iterations and calls); "
                "simplify the template or raise RenderLimits.max_steps"
            )
        if self._left % 256 == 0 and time.monotonic() > self._deadline:
            raise ResourceLimitError(
                f"the render took longer than {self._limits.max_seconds} s (RenderLimits.max_seconds)"
            )

    def iterate(self, items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            self.spend()
            yield item


def text_size(value: Any, limit: int) -> int:
    """Estimate ``len(str(value))`` by walking containers; stops early once past ``limit``."""
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item) + 2
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            stack.extend(item)
        elif isinstance(item, Namespace):
            stack.append(getattr(item, "_Namespace__attrs", {}))
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3 + 2
        else:
            total += 8
    return total


def size(value: Any) -> int:
    """Characters of a string or items of a container; 0 for anything else."""
    return len(value) if isinstance(value, str | bytes | list | tuple | dict | set | frozenset) else 0


class Guard:
    """The checks, bound to one set of limits."""

    def __init__(self, limits: RenderLimits) -> None:
        self.limits = limits

    def refuse(self, what: str, amount: int, limit: int, knob: str) -> ResourceLimitError:
        return ResourceLimitError(f"{what} would be {amount:,} long; the limit is {limit:,} (RenderLimits.{knob})")

    def check_value(self, value: Any, what: str = "a value") -> Any:
        """Refuse a built string or list larger than max_value_size."""
        if size(value) > self.limits.max_value_size:
            raise self.refuse(what, size(value), self.limits.max_value_size, "max_value_size")
        return value

    def check_text(self, value: Any, what: str) -> None:
        """Refuse a value whose string form would exceed max_value_size."""
        estimate = text_size(value, self.limits.max_value_size)
        if estimate > self.limits.max_value_size:
            raise self.refuse(what, estimate, self.limits.max_value_size, "max_value_size")

    def check_width(self, width: Any, what: str) -> None:
        if isinstance(width, int) and width > self.limits.max_value_size:
            raise self.refuse(what, width, self.limits.max_value_size, "max_value_size")

    def check_estimate(self, estimate: int, what: str) -> None:
        if estimate > self.limits.max_value_size:
            raise self.refuse(what, estimate, self.limits.max_value_size, "max_value_size")

    # -- operators ------------------------------------------------------------------

    def binop(self, operator: str, left: Any, right: Any) -> None:
        """Check ``left <operator> right`` before Python computes it."""
        if operator == "*":
            self._check_multiply(left, right)
        elif operator == "**":
            self._check_power(left, right)
        elif operator == "+" and size(left) and size(right):
            self.check_estimate(size(left) + size(right), "the result of '+'")
        elif operator == "%" and isinstance(left, str | bytes):
            self.check_percent_format(left, right)

    def _check_multiply(self, left: Any, right: Any) -> None:
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, str | bytes | list | tuple) and _is_int(count):
                self.check_estimate(len(seq) * max(count, 0), "the result of '*'")
                if isinstance(seq, list | tuple) and count > 1:
                    self.check_text(seq, "the repeated sequence")
                return
        if _is_int(left) and _is_int(right):
            bits = abs(left).bit_length() + abs(right).bit_length()
            if bits > self.limits.max_int_bits:
                raise self.refuse("an integer product (in bits)", bits, self.limits.max_int_bits, "max_int_bits")

    def _check_power(self, base: Any, exponent: Any) -> None:
        if _is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1:
            bits = (abs(base).bit_length() - 1) * exponent
            if bits > self.limits.max_int_bits:
                raise self.refuse("an integer power (in bits)", bits, self.limits.max_int_bits, "max_int_bits")

    def check_percent_format(self, template: str | bytes, args: Any) -> None:
        """``'%10000000000d' % 1`` and ``'%*d' % (10**10, 1)`` are refused."""
        text = template.decode("latin-1") if isinstance(template, bytes) else template
        starred = False
        for match in _PERCENT_SPEC.finditer(text):
            for number in match.groups():
                starred = starred or number == "*"
                if number and number.isdigit():
                    self.check_width(int(number), "a '%' format width")
        if starred:  # widths such as '%*d' come from the arguments
            for value in args if isinstance(args, tuple) else (args,):
                self.check_width(value, "a '%' format width")
        self.check_estimate(len(text) + text_size(args, self.limits.max_value_size) * max(1, text.count("%")),
                            "the result of '%'")

    # -- str.format ---------------------------------------------------------------------

    def check_format(self, template: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        """Bound ``str.format``: numeric widths in the spec, and fields times argument size."""
        fields = 0
        nested = False
        for _, _, spec, _ in _FORMATTER.parse(template):
            if spec is None:
                continue
            fields += 1
            nested = nested or "{" in spec
            for number in re.findall(r"\d+", spec):
                self.check_width(int(number), "a format width")
        biggest = max((text_size(v, self.limits.max_value_size) for v in (*args, *kwargs.values())), default=0)
        if nested:  # widths such as '{:>{}}' come from the arguments
            for value in (*args, *kwargs.values()):
                self.check_width(value, "a format width")
        self.check_estimate(len(template) + fields * biggest, "the formatted string")

    # -- methods of str and bytes ------------------------------------------------------------

    def str_method(self, name: str, text: str | bytes, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        """Estimate the result of the str/bytes methods that can multiply their input."""
        if name in ("center", "ljust", "rjust", "zfill"):
            width = args[0] if args else kwargs.get("width", 0)
            self.check_width(width, f"the result of str.{name}")
        elif name == "expandtabs":
            tabsize = args[0] if args else kwargs.get("tabsize", 8)
            if _is_int(tabsize):
                tabs = text.count("\t") if isinstance(text, str) else text.count(b"\t")
                self.check_estimate(len(text) + tabs * tabsize, "the result of str.expandtabs")
        elif name == "replace" and len(args) >= 2:
            self.check_estimate(replace_estimate(text, args[0], args[1], args[2] if len(args) > 2 else -1),
                                "the result of str.replace")
        elif name == "join" and args:
            self.check_join(text, args[0])
        elif name == "translate" and args and isinstance(args[0], Mapping):
            longest = max((size(v) for v in args[0].values()), default=1)
            self.check_estimate(len(text) * max(longest, 1), "the result of str.translate")

    def check_contains(self, needle: Any, haystack: Any) -> None:
        """``needle in haystack`` compares the needle with every item: bound that work."""
        work = size(haystack) * max(text_size(needle, self.limits.max_value_size), 1)
        if work > self.limits.max_value_size * _WORK_FACTOR:
            raise self.refuse("the work of an 'in' test (items times needle size)", work,
                              self.limits.max_value_size * _WORK_FACTOR, "max_value_size")

    def check_sum(self, items: Any) -> None:
        """``sum`` of lists or strings copies the growing result for every item (quadratic): bound it."""
        if not isinstance(items, list | tuple) or all(isinstance(i, int | float) for i in items):
            return
        total = text_size(items, self.limits.max_value_size)
        self.check_estimate(total, "the result of the 'sum' filter")
        work = len(items) * total
        if work > self.limits.max_value_size * _WORK_FACTOR:
            raise self.refuse("the work of the 'sum' filter (items times result size)", work,
                              self.limits.max_value_size * _WORK_FACTOR, "max_value_size")

    def check_join(self, separator: Any, items: Any) -> None:
        if isinstance(items, Iterable) and not isinstance(items, str | bytes):
            count = len(items) if isinstance(items, Sized) else 0
            estimate = size(separator) * max(count - 1, 0) + text_size(items, self.limits.max_value_size)
            self.check_estimate(estimate, "the joined string")


def replace_estimate(text: Any, old: Any, new: Any, count: Any) -> int:
    """Upper bound of ``len(text.replace(old, new, count))``."""
    if not (isinstance(text, str | bytes) and isinstance(old, str | bytes) and isinstance(new, str | bytes)):
        return 0
    try:
        hits = len(text) + 1 if not old else text.count(old)  # type: ignore[arg-type]
    except TypeError:
        return 0
    if _is_int(count) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * len(new)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_FORMATTER = Formatter()
_WORK_FACTOR = 10
"""An operation may touch at most this many times ``max_value_size`` items or characters."""
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\d+|\*)?(?:\.(\d+|\*))?")
