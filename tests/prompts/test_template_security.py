"""Templates cannot reach Python internals, nor exhaust memory or CPU."""

from __future__ import annotations

import pytest

from promptlab.errors import TemplateError, TemplateSecurityError
from promptlab.prompts import PromptTemplate, RenderLimits

INTERNALS = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{{ ''|attr('__class__') }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ self.__init__ }}",
    "{{ '{0.__class__}'.format('') }}",
    "{{ '{x.__class__.__mro__}'.format_map({'x': ''}) }}",
    "{{ ('{0.__class__}'|attr('format'))('') }}",
    "{{ ''.format.__wrapped__ }}",
    "{{ [].append(1) }}",
    "{{ {}.update({'a': 1}) }}",
    "{{ dict.mro() }}",
]

RESOURCES = [
    ("{{ 'a' * 10**10 }}", "max_value_size"),
    ("{{ [0] * 10**10 }}", "max_value_size"),
    ("{{ 10**(10**8) }}", "max_int_bits"),
    ("{% set x = 10**1000 %}{{ x * x * x * x * x }}", "max_int_bits"),
    ("{{ range(10**9)|list }}", "max_range"),
    ("{{ range(10**100)|length }}", "max_range"),
    ("{{ 'a'|center(10**10) }}", "max_value_size"),
    ("{{ 'a'.rjust(10**10) }}", "max_value_size"),
    ("{{ '{:>10000000000}'.format(1) }}", "max_value_size"),
    ("{{ '{:>{}}'.format(1, 10**10) }}", "max_value_size"),
    ("{{ '%10000000000d' % 1 }}", "max_value_size"),
    ("{{ '%*d' % (10**10, 1) }}", "max_value_size"),
    ("{{ '%10000000000d'|format(1) }}", "max_value_size"),
    ("{% set b = 'a' * 900000 %}{{ b.replace('a', b) }}", "max_value_size"),
    ("{% set b = 'a' * 900000 %}{{ b|replace('a', b) }}", "max_value_size"),
    ("{% set b = 'a' * 900000 %}{{ b.join(range(50000)|map('string')) }}", "max_value_size"),
    ("{% set b = 'a' * 900000 %}{{ range(50000)|map('string')|join(b) }}", "max_value_size"),
    ("{% set b = 'a' * 900000 %}{{ [b] * 1000 }}", "max_value_size"),
    ("{% set b = 'a' * 900000 %}{{ b|wordwrap(1, wrapstring=b) }}", "max_value_size"),
    ("{% set b = 'a\n' * 400000 %}{{ b|indent(1000) }}", "max_value_size"),
    ("{% set b = 'a\t' * 400000 %}{{ b.expandtabs(1000) }}", "max_value_size"),
    ("{{ [1]|batch(10**9, 'x')|list }}", "max_value_size"),
    ("{{ {'a': 1}|tojson(indent=10**9) }}", "indent"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", "'~'"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", "'+'"),
    ("{% set b = 'a' * 900000 %}{% macro m() %}{% for i in range(9999) %}{{ b }}{% endfor %}{% endmacro %}{{ m() }}",
     "captured block"),
    ("{% set b = 'a' * 900000 %}{% for i in range(100) %}{{ b }}{% endfor %}", "max_output_chars"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "max_steps"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursion too deep"),
]


@pytest.mark.parametrize("source", INTERNALS)
def test_python_internals_are_refused(source: str) -> None:
    with pytest.raises(TemplateSecurityError, match="refused"):
        PromptTemplate.from_string(source).render()


@pytest.mark.parametrize(("source", "reason"), RESOURCES)
def test_resource_attacks_are_stopped_with_a_clear_error(source: str, reason: str) -> None:
    with pytest.raises(TemplateSecurityError, match="refused") as info:
        PromptTemplate.from_string(source).render()
    assert reason in str(info.value)


def test_lipsum_is_not_available() -> None:
    template = PromptTemplate.from_string("{{ lipsum(10**9) }}")
    assert "lipsum" in template.inputs  # not a global: just an (undeclared) variable


def test_exponential_recursion_through_a_shared_structure_hits_the_step_budget() -> None:
    levels = "".join(f"{{% set l{i + 1} = [l{i}, l{i}] %}}" for i in range(1, 26))
    source = ("{% set l1 = [0, 0] %}" + levels
              + "{% for x in [l26] recursive %}{% if x is iterable %}{{ loop(x) }}{% endif %}{% endfor %}")
    with pytest.raises(TemplateSecurityError, match="max_steps"):
        PromptTemplate.from_string(source, limits=RenderLimits(max_steps=50_000, max_seconds=60)).render()


def test_exponential_macro_recursion_hits_a_limit() -> None:
    source = "{% macro f(n) %}{{ f(n - 1) ~ f(n - 1) if n > 0 }}{% endmacro %}{{ f(40) }}"
    with pytest.raises(TemplateSecurityError, match=r"max_steps|max_seconds"):
        PromptTemplate.from_string(source, limits=RenderLimits(max_steps=20_000)).render()


def test_the_time_limit_stops_a_slow_render() -> None:
    source = "{% macro f(n) %}{{ f(n - 1) ~ f(n - 1) if n > 0 }}{% endmacro %}{{ f(40) }}"
    with pytest.raises(TemplateSecurityError, match="max_seconds"):
        PromptTemplate.from_string(source, limits=RenderLimits(max_seconds=0.05)).render()


LEGITIMATE = [
    ("{{ '{:,}'.format(1234567) }}", "1,234,567"),
    ("{{ '%d items' % 1234567 }}", "1234567 items"),
    ("{{ '%-6s|' % 'ab' }}", "ab    |"),
    ("{{ 'ab' * 3 }}", "ababab"),
    ("{{ 2 ** 64 }}", str(2**64)),
    ("{{ [1, 2] + [3] }}", "[1, 2, 3]"),
    ("{{ 'x'|center(5) }}", "  x  "),
    ("{{ ', '.join(['a', 'b']) }}", "a, b"),
    ("{{ ['a', 'b']|join(', ') }}", "a, b"),
    ("{{ 'a b'.replace(' ', '-') }}", "a-b"),
    ("{{ 'line\nline'|indent(2) }}", "line\n  line"),
    ("{{ {'a': [1, 2]}|tojson }}", '{"a": [1, 2]}'),
    ("{% for i in range(3) %}{{ loop.index }}{% endfor %}", "123"),
    ("{% for i in range(10**5) %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}", "012"),
    ("{{ 'a' ~ 1 ~ [2] }}", "a1[2]"),
    ("{% set ns = namespace(n=0) %}{% for i in range(5) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", "10"),
    ("{% macro q(x) %}<{{ x }}>{% endmacro %}{{ q(1) }}{{ q('b') }}", "<1><b>"),
]


@pytest.mark.parametrize(("source", "expected"), LEGITIMATE)
def test_ordinary_templates_still_render(source: str, expected: str) -> None:
    assert PromptTemplate.from_string(source).render() == expected


def test_a_long_but_legitimate_prompt_renders() -> None:
    template = PromptTemplate.from_string("{% for d in docs %}[{{ loop.index }}] {{ d }}\n{% endfor %}")
    docs = ["lorem ipsum " * 100] * 500
    assert len(template.render(docs=docs)) > 600_000


def test_limits_are_configurable() -> None:
    template = PromptTemplate.from_string("{{ text }}", limits=RenderLimits(max_output_chars=10))
    assert template.render(text="short") == "short"
    with pytest.raises(TemplateSecurityError, match="longer than 10 characters"):
        template.render(text="much too long")


def test_runtime_errors_become_template_errors() -> None:
    with pytest.raises(TemplateError, match="ZeroDivisionError"):
        PromptTemplate.from_string("{{ 1 // x }}").render(x=0)
