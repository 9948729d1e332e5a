"""Hostile templates: work inside filters and operators is bounded before it happens, and a model's own chat
template (GGUF metadata, tokenizer_config.json) renders in the same sandbox under the same limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptlab.chat import render_chat_template
from promptlab.errors import TemplateError, TemplateSecurityError
from promptlab.prompts import PromptTemplate

MESSAGES = [{"role": "user", "content": "hi"}]

HOSTILE_CHAT_TEMPLATES = {
    "ssti": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "gigabyte": "{{ 'a' * 10**9 }}",
    "doubling": "{% set s = namespace(t='ab') %}{% for i in range(40) %}{% set s.t = s.t ~ s.t %}{% endfor %}{{ s.t }}",
    "big_int": "{{ 10 ** (10 ** 8) }}",
    "endless_loops": "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    "quadratic_sum": "{{ ([[0] * 1000] * 1000) | sum(start=[]) | length }}",
}


@pytest.mark.parametrize("source", [
    "{{ ([[0] * 1000] * 1000) | sum(start=[]) | length }}",
    "{% set big = range(100000) | list %}{{ ('x' * 200000) in big }}",
    "{% set big = range(100000) | list %}{{ ('x' * 200000) not in big }}",
])
def test_filters_and_operators_are_refused_before_the_work(source: str) -> None:
    with pytest.raises(TemplateSecurityError, match=r"RenderLimits\.max_value_size"):
        PromptTemplate.from_string(source).render()


def test_small_sums_and_in_tests_still_work() -> None:
    source = "{{ [1, 2, 3] | sum }} {{ 2 in [1, 2] }} {{ 'b' not in 'abc' }} {{ [[1], [2]] | sum(start=[]) }}"
    assert PromptTemplate.from_string(source).render() == "6 True False [1, 2]"


@pytest.mark.parametrize("name", sorted(HOSTILE_CHAT_TEMPLATES))
def test_a_hostile_chat_template_is_refused(name: str) -> None:
    with pytest.raises(TemplateSecurityError):
        render_chat_template(HOSTILE_CHAT_TEMPLATES[name], MESSAGES)


def test_a_chat_template_refusing_a_conversation_is_still_a_template_error() -> None:
    with pytest.raises(TemplateError, match=r"chat template failed: .*no system messages"):
        render_chat_template("{{ raise_exception('no system messages') }}", MESSAGES)


def _gguf_with_chat_template(source: Path, target: Path, template: str) -> Path:
    """A copy of ``source`` whose ``tokenizer.chat_template`` metadata is ``template``."""
    gguf = pytest.importorskip("gguf")
    from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata, get_field_data

    reader = gguf.GGUFReader(source, "r")
    writer = gguf.GGUFWriter(target, arch=get_field_data(reader, gguf.Keys.General.ARCHITECTURE),
                             endianess=reader.endianess)
    alignment = get_field_data(reader, gguf.Keys.General.ALIGNMENT)
    if alignment is not None:
        writer.data_alignment = alignment
    new = {gguf.Keys.Tokenizer.CHAT_TEMPLATE: MetadataDetails(gguf.GGUFValueType.STRING, template)}
    copy_with_new_metadata(reader, writer, new, [])
    return target


@pytest.mark.slow
def test_a_gguf_whose_embedded_chat_template_is_hostile(tmp_path: Path) -> None:
    from promptlab.backends.embedded import embedded_model_path
    from promptlab.backends.llamacpp import LlamaCppBackend

    template = HOSTILE_CHAT_TEMPLATES["ssti"] + HOSTILE_CHAT_TEMPLATES["gigabyte"]
    model = _gguf_with_chat_template(embedded_model_path(), tmp_path / "hostile.gguf", template)
    with LlamaCppBackend(model) as llm:
        assert llm.chat_template == template  # read from the file's metadata
        with pytest.raises(TemplateSecurityError):
            llm.format_chat(MESSAGES)
        with pytest.raises(TemplateSecurityError):
            llm.chat(MESSAGES, max_new_tokens=4)
        assert llm.complete("The capital of France is", max_new_tokens=4).text  # the model itself still works
