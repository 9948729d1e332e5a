"""Prompt templates: plain text (``NAME.jinja``) and chat messages (``NAME.chat.yaml``).

Both kinds declare their inputs; loading checks that the template reads exactly the
declared variables, and rendering refuses a missing or unexpected variable by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args

import jinja2
import yaml

from promptlab._render_env import PromptEnvironment
from promptlab._render_limits import RenderLimits
from promptlab.chat import Message, Role
from promptlab.errors import TemplateError
from promptlab.prompts._spec import (
    FRONT_MATTER_EXAMPLE,
    TemplateInput,
    TemplateSpec,
    front_matter,
    load_yaml,
    parse_spec,
)

__all__ = ["CHAT_SUFFIX", "TEXT_SUFFIX", "PromptTemplate", "TemplateKind", "load_template", "template_name"]

TemplateKind = Literal["text", "chat"]
TEXT_SUFFIX = ".jinja"
CHAT_SUFFIX = ".chat.yaml"
_ROLES: tuple[str, ...] = get_args(Role)


def template_name(path: Path) -> str | None:
    """``cot.jinja`` -> ``cot``, ``pal_chat.chat.yaml`` -> ``pal_chat``; None for other files."""
    for suffix in (CHAT_SUFFIX, TEXT_SUFFIX):
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            return path.name[: -len(suffix)]
    return None


class PromptTemplate:
    """A loaded template: ``render(**inputs) -> str`` or ``render_messages(**inputs) -> list[Message]``."""

    def __init__(self, *, name: str, kind: TemplateKind, spec: TemplateSpec,
                 parts: Sequence[tuple[Role, jinja2.Template]], environment: PromptEnvironment,
                 path: Path | None = None) -> None:
        self.name = name
        self.kind: TemplateKind = kind
        self.description = spec.description
        self.inputs: Mapping[str, TemplateInput] = MappingProxyType(dict(spec.inputs))
        self.metadata: Mapping[str, Any] = MappingProxyType(dict(spec.metadata))
        self.path = path
        self._parts = tuple(parts)
        self._env = environment
        self._where = f"template {name!r}" + (f" ({path})" if path is not None else "")

    def __repr__(self) -> str:
        return f"PromptTemplate(name={self.name!r}, kind={self.kind!r}, inputs={list(self.inputs)!r})"

    # -- construction -----------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path, *, limits: RenderLimits | None = None) -> PromptTemplate:
        """Load ``NAME.jinja`` or ``NAME.chat.yaml``."""
        return load_template(Path(path), PromptEnvironment(limits))

    @classmethod
    def from_string(cls, source: str, *, name: str = "<string>", limits: RenderLimits | None = None) -> PromptTemplate:
        """A text template from a string; without front matter, every variable it reads is a required input."""
        env = PromptEnvironment(limits)
        where = f"template {name!r}"
        declared = front_matter(source)
        compiled, used = _compile(env, source, name, where, filename=f"<{name}>")
        if declared is None:
            spec = TemplateSpec("", {n: TemplateInput(n) for n in sorted(used)}, {})
        else:
            spec = parse_spec(load_yaml(declared, where), where, base_dir=None)
        _check_declared(spec, used, where)
        return cls(name=name, kind="text", spec=spec, parts=[("user", compiled)], environment=env)

    # -- rendering --------------------------------------------------------------------

    @property
    def required_inputs(self) -> tuple[str, ...]:
        """Names of the inputs without a default."""
        return tuple(name for name, spec in self.inputs.items() if spec.required)

    def render(self, **variables: Any) -> str:
        """The prompt text; a chat template must use :meth:`render_messages`."""
        if self.kind == "chat":
            raise TemplateError(f"{self._where} is a chat template: use render_messages(), then a model's chat "
                                "template (Backend.format_chat) to make one prompt string")
        return self._env.render(self._parts[0][1], self._bind(variables), where=self._where)

    def render_messages(self, **variables: Any) -> list[Message]:
        """The chat messages; a text template becomes one user message."""
        if self.kind == "text":
            return [Message(role="user", content=self.render(**variables))]
        bound = self._bind(variables)
        messages: list[Message] = []
        total = 0
        for index, (role, compiled) in enumerate(self._parts, start=1):
            where = f"{self._where} message {index} ({role})"
            content = self._env.render(compiled, bound, where=where, output_so_far=total)
            total += len(content)
            messages.append(Message(role=role, content=content))
        return messages

    def _bind(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        unexpected = sorted(set(variables) - set(self.inputs))
        if unexpected:
            raise TemplateError(f"{self._where} got unexpected variable {unexpected[0]!r}; "
                                f"its inputs are: {_names(self.inputs)}")
        missing = [name for name in self.required_inputs if name not in variables]
        if missing:
            raise TemplateError(f"{self._where} is missing required variable {missing[0]!r}; "
                                f"its inputs are: {_names(self.inputs)}")
        return {name: variables.get(name, spec.default) for name, spec in self.inputs.items()}


def load_template(path: Path, environment: PromptEnvironment) -> PromptTemplate:
    """Load a template file into ``environment``; every problem is a TemplateError naming the file."""
    name = template_name(path)
    if name is None:
        raise TemplateError(f"{path}: a template file must end in {TEXT_SUFFIX} or {CHAT_SUFFIX}")
    where = f"template {name!r} ({path})"
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{where}: cannot read the file: {exc}") from exc
    if path.name.endswith(CHAT_SUFFIX):
        return _load_chat(path, name, source, environment, where)
    declared = front_matter(source)
    if declared is None:
        raise TemplateError(f"{where}: a template must start with a front-matter comment that declares its "
                            f"inputs, e.g.\n{FRONT_MATTER_EXAMPLE}")
    spec = parse_spec(load_yaml(declared, where), where, path.parent)
    compiled, used = _compile(environment, source, name, where, filename=str(path))
    _check_declared(spec, used, where)
    return PromptTemplate(name=name, kind="text", spec=spec, parts=[("user", compiled)], environment=environment,
                          path=path)


def _load_chat(path: Path, name: str, source: str, env: PromptEnvironment, where: str) -> PromptTemplate:
    data = load_yaml(source, where)
    spec = parse_spec(data, where, path.parent, extra_keys=frozenset({"messages"}))
    raw_messages = data.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise TemplateError(f"{where}: 'messages' must be a non-empty list of {{role, content}} mappings")
    parts: list[tuple[Role, jinja2.Template]] = []
    used: set[str] = set()
    for index, message in enumerate(raw_messages, start=1):
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            raise TemplateError(f"{where}: message {index} must have exactly the keys 'role' and 'content'")
        role, content = message["role"], message["content"]
        if role not in _ROLES:
            raise TemplateError(f"{where}: message {index} has role {role!r}; use one of {', '.join(_ROLES)}")
        if not isinstance(content, str):
            raise TemplateError(f"{where}: message {index} content must be a string")
        try:
            compiled, variables = env.compile_template(content, name=name, filename=f"{path}#message{index}")
        except jinja2.TemplateSyntaxError as exc:
            line = _content_line(source, index - 1, exc.lineno or 1)
            raise TemplateError(f"{where}, line {line}: template syntax error: {exc.message}") from exc
        parts.append((role, compiled))
        used |= variables
    _check_declared(spec, frozenset(used), where)
    return PromptTemplate(name=name, kind="chat", spec=spec, parts=parts, environment=env, path=path)


def _compile(env: PromptEnvironment, source: str, name: str, where: str,
             filename: str) -> tuple[jinja2.Template, frozenset[str]]:
    try:
        return env.compile_template(source, name=name, filename=filename)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{where}, line {exc.lineno}: template syntax error: {exc.message}") from exc


def _check_declared(spec: TemplateSpec, used: frozenset[str], where: str) -> None:
    undeclared = sorted(used - set(spec.inputs))
    if undeclared:
        raise TemplateError(f"{where}: uses variable {undeclared[0]!r} but does not declare it; add it to "
                            f"'inputs' (declared: {_names(spec.inputs)})")
    unused = sorted(set(spec.inputs) - used)
    if unused:
        raise TemplateError(f"{where}: declares input {unused[0]!r} but never uses it")


def _content_line(source: str, message_index: int, line_in_content: int) -> int:
    """File line of ``line_in_content`` of message ``message_index``'s content (best effort)."""
    try:
        root: Any = yaml.compose(source)
        messages = next(value for key, value in root.value if key.value == "messages")
        content = next(value for key, value in messages.value[message_index].value if key.value == "content")
    except (yaml.YAMLError, StopIteration, AttributeError, IndexError, TypeError):
        return line_in_content
    block = content.style in ("|", ">")
    return int(content.start_mark.line) + line_in_content + (1 if block else 0)


def _names(inputs: Mapping[str, TemplateInput]) -> str:
    if not inputs:
        return "(none)"
    return ", ".join(name if spec.required else f"{name} (optional)" for name, spec in inputs.items())
