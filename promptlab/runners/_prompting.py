"""How runners get their prompts: a named template, its declared stops, and few-shot examples."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from promptlab.config import GenerationConfig
from promptlab.prompts.fewshot import Example, ExampleSelector, FixedSelector
from promptlab.prompts.library import TemplateLibrary
from promptlab.prompts.templates import PromptTemplate
from promptlab.runners.flow import Prompt

Examples = ExampleSelector | Sequence[Example | dict[str, Any]] | None
"""A selector, a fixed list of examples, or None for the template's own default examples."""


def resolve_template(template: PromptTemplate | str, library: TemplateLibrary | None = None) -> PromptTemplate:
    """A template object, or one looked up by name (or path) in ``library`` (default: the shipped ones)."""
    if isinstance(template, PromptTemplate):
        return template
    return (library or TemplateLibrary.default()).get(template)


def as_selector(examples: Examples) -> ExampleSelector | None:
    return examples if isinstance(examples, ExampleSelector) or examples is None else FixedSelector(examples)


def with_stops(config: GenerationConfig, template: PromptTemplate, extra: Iterable[str] = ()) -> GenerationConfig:
    """``config`` with the template's declared stop strings (and ``extra``) unless it sets its own."""
    if config.stop:
        return config
    declared = template.metadata.get("stop") or ()
    stops = tuple(dict.fromkeys([*declared, *extra]))
    return config.with_overrides(stop=stops) if stops else config


def render(template: PromptTemplate, selector: ExampleSelector | None, question: str) -> Prompt:
    """The prompt for ``question``, with the selector's examples (or the template's default ones).

    A chat template gives a conversation: the backend applies the model's chat template to
    it (a server its own), so the runner sends it with the :class:`~promptlab.runners.flow.Chat` effect.
    """
    variables: dict[str, Any] = {"question": question}
    if selector is not None:
        variables["examples"] = selector.select(question)
    if template.kind == "chat":
        return tuple(template.render_messages(**variables))
    return template.render(**variables)
