"""What a template declares: description, inputs (with defaults) and free-form metadata.

Text templates carry it as YAML in a leading ``{#- ... -#}`` comment; chat templates
(``NAME.chat.yaml``) carry it as top-level keys. Inputs are written as::

    inputs:
      question: The question to answer.          # required, with a description
      examples:                                  # optional: has a default
        description: Few-shot examples.
        default_file: examples/gsm8k_cot_8shot.jsonl
      style: {default: concise}

or, when every input is required and needs no description, ``inputs: [question, context]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from promptlab import safe_json
from promptlab.errors import TemplateError

_FRONT_MATTER = re.compile(r"\A\{#-?(?P<yaml>.*?)-?#\}", re.DOTALL)
_INPUT_KEYS = frozenset({"description", "default", "default_file"})
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = frozenset({"self", "loop", "caller", "varargs", "kwargs"})  # Jinja's own names

MAX_DEFAULT_FILE_BYTES = 16 * 1024 * 1024

FRONT_MATTER_EXAMPLE = "{#-\ndescription: What the template is for.\ninputs:\n  question: The question to answer.\n-#}"


@dataclass(frozen=True)
class TemplateInput:
    """One declared input of a template; optional when it has a default."""

    name: str
    description: str = ""
    required: bool = True
    default: Any = field(default=None, compare=False, repr=False)
    source: Path | None = field(default=None, compare=False, repr=False)
    """The ``default_file`` the default was read from (the template cache re-checks it)."""


@dataclass(frozen=True)
class TemplateSpec:
    """The parsed declaration of one template."""

    description: str
    inputs: dict[str, TemplateInput]
    metadata: dict[str, Any]


def front_matter(source: str) -> str | None:
    """The YAML text of a text template's leading comment, or None when there is none."""
    match = _FRONT_MATTER.match(source)
    return match.group("yaml") if match else None


def load_yaml(text: str, where: str, first_line: int = 1) -> Any:
    """``yaml.safe_load`` with errors that name the file and line (``first_line``: where ``text`` starts)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + first_line}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise TemplateError(f"{where}{line}: invalid YAML: {problem}") from exc


def parse_spec(data: Any, where: str, base_dir: Path | None, extra_keys: frozenset[str] = frozenset()) -> TemplateSpec:
    """Validate a declaration mapping and load the default files of its inputs."""
    if not isinstance(data, dict):
        raise TemplateError(f"{where}: the declaration must be a YAML mapping, e.g.\n{FRONT_MATTER_EXAMPLE}")
    unknown = sorted(set(data) - {"description", "inputs", "metadata"} - extra_keys)
    if unknown:
        raise TemplateError(f"{where}: unknown key {unknown[0]!r}; allowed: description, inputs, metadata"
                            + "".join(f", {k}" for k in sorted(extra_keys)))
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise TemplateError(f"{where}: 'description' must be a string")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise TemplateError(f"{where}: 'metadata' must be a mapping")
    inputs = parse_inputs(data.get("inputs"), where, base_dir)
    return TemplateSpec(description=description.strip(), inputs=inputs, metadata=metadata)


def parse_inputs(raw: Any, where: str, base_dir: Path | None) -> dict[str, TemplateInput]:
    """``inputs:`` as a list of names or a mapping of name -> description | {description, default(_file)}."""
    if raw is None:
        return {}
    if isinstance(raw, list):
        raw = dict.fromkeys(raw)
    if not isinstance(raw, dict):
        raise TemplateError(f"{where}: 'inputs' must be a list of names or a mapping of name -> spec")
    inputs: dict[str, TemplateInput] = {}
    for name, spec in raw.items():
        if not isinstance(name, str) or not _NAME.match(name) or name in _RESERVED:
            raise TemplateError(f"{where}: input name {name!r} is not allowed: use an identifier other than "
                                f"{', '.join(sorted(_RESERVED))}")
        inputs[name] = _parse_input(name, spec, where, base_dir)
    return inputs


def _parse_input(name: str, spec: Any, where: str, base_dir: Path | None) -> TemplateInput:
    if spec is None:
        return TemplateInput(name)
    if isinstance(spec, str):
        return TemplateInput(name, description=spec.strip())
    if not isinstance(spec, dict):
        raise TemplateError(f"{where}: input {name!r} must be a description or a mapping with "
                            "description / default / default_file")
    unknown = sorted(set(spec) - _INPUT_KEYS)
    if unknown:
        raise TemplateError(f"{where}: input {name!r} has unknown key {unknown[0]!r}; "
                            "allowed: description, default, default_file")
    if "default" in spec and "default_file" in spec:
        raise TemplateError(f"{where}: input {name!r} has both 'default' and 'default_file'")
    description = str(spec.get("description") or "").strip()
    if "default_file" in spec:
        reference = str(spec["default_file"])
        default = load_default_file(reference, base_dir, where, name)
        source = (base_dir / reference.partition("#")[0]).resolve() if base_dir is not None else None
        return TemplateInput(name, description, required=False, default=default, source=source)
    if "default" in spec:
        return TemplateInput(name, description, required=False, default=spec["default"])
    return TemplateInput(name, description)


def load_default_file(reference: str, base_dir: Path | None, where: str, name: str) -> Any:
    """Read ``FILE.txt`` (a string), ``FILE.json`` or ``FILE.jsonl``; ``FILE.json#key`` picks one key.

    The path is relative to the template's directory and must stay inside it (no absolute
    paths, no ``..`` out of it, no symlink leading out): a template cannot read other files
    of the machine. The file must be UTF-8 and at most :data:`MAX_DEFAULT_FILE_BYTES`.
    """
    file_part, _, key = reference.partition("#")
    if base_dir is None:
        raise TemplateError(f"{where}: input {name!r}: a default_file needs a template file")
    root = base_dir.resolve()
    path = (root / file_part).resolve()
    if Path(file_part).is_absolute() or not path.is_relative_to(root):
        raise TemplateError(f"{where}: input {name!r}: default_file {file_part!r} must be a path inside the "
                            f"template's directory {str(root)!r}")
    try:
        if path.stat().st_size > MAX_DEFAULT_FILE_BYTES:
            raise TemplateError(f"{where}: input {name!r}: default_file {str(path)!r} is larger than "
                                f"{MAX_DEFAULT_FILE_BYTES:,} bytes")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"{where}: input {name!r}: cannot read default_file {str(path)!r}: "
                            f"{exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise TemplateError(f"{where}: input {name!r}: default_file {str(path)!r} is not UTF-8 text "
                            f"(invalid byte at offset {exc.start})") from None
    try:
        if path.suffix == ".jsonl":
            value: Any = [safe_json.loads(line) for line in text.splitlines() if line.strip()]
        elif path.suffix == ".json":
            value = safe_json.loads(text)
        else:
            value = text
    except safe_json.JsonLimitError as exc:
        raise TemplateError(f"{where}: input {name!r}: {str(path)!r}: {exc}") from None
    if key:
        if not isinstance(value, dict) or key not in value:
            raise TemplateError(f"{where}: input {name!r}: {str(path)!r} has no key {key!r}")
        value = value[key]
    return value
