"""Prompt templates (sandboxed Jinja) and the library that finds them by name."""

from promptlab._render_limits import RenderLimits
from promptlab.prompts._spec import TemplateInput
from promptlab.prompts.library import TemplateLibrary, shipped_templates_dir
from promptlab.prompts.templates import PromptTemplate, TemplateKind

__all__ = [
    "PromptTemplate",
    "RenderLimits",
    "TemplateInput",
    "TemplateKind",
    "TemplateLibrary",
    "shipped_templates_dir",
]
