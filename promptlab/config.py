"""GenerationConfig: every decoding knob in one validated, immutable value."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from promptlab.constraints import Constraint
from promptlab.errors import ConfigError

__all__ = ["GenerationConfig"]


class GenerationConfig(BaseModel):
    """How to decode: greedy unless ``temperature > 0`` or ``do_sample=True``.

    Invalid values fail at construction with a :class:`ConfigError` naming the field.
    Use :meth:`with_overrides` to derive a changed copy (it is validated again).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_new_tokens: int = Field(256, ge=1, description="most tokens to generate")
    temperature: float = Field(0.0, ge=0.0, le=100.0, description="0 means greedy")
    top_k: int | None = Field(None, ge=1, description="keep the k most likely tokens")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="nucleus sampling mass")
    min_p: float = Field(0.0, ge=0.0, le=1.0, description="drop tokens below min_p x the top token's probability")
    repetition_penalty: float = Field(1.0, gt=0.0, description="1.0 means none")
    do_sample: bool | None = Field(None, description="None: sample iff temperature > 0")
    num_beams: int = Field(1, ge=1, description="beam search width; 1 means no beams")
    n: int = Field(1, ge=1, le=1024, description="completions per prompt")
    stop: tuple[str, ...] = Field((), description="strings that end generation")
    seed: int | None = Field(None, ge=0, description="random seed for sampling")
    constraint: Constraint | None = Field(None, description="regex, choice, JSON schema or grammar the output obeys")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from None

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_as_tuple(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        return tuple(value) if isinstance(value, list) else value

    @field_validator("stop")
    @classmethod
    def _stop_not_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(s == "" for s in value):
            raise ValueError("stop strings must not be empty")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> GenerationConfig:
        if self.do_sample is True and self.temperature == 0.0:
            raise ValueError("do_sample=True needs temperature > 0")
        if self.sampling and self.num_beams > 1:
            raise ValueError("num_beams > 1 is beam search: it cannot be combined with sampling")
        if self.n > 1 and not self.sampling and self.n > self.num_beams:
            raise ValueError(
                f"n={self.n} greedy completions would all be identical: "
                "set temperature > 0 to sample, or num_beams >= n for beam search"
            )
        return self

    @property
    def sampling(self) -> bool:
        """Whether decoding samples (True) or is greedy / beam search (False)."""
        return self.do_sample if self.do_sample is not None else self.temperature > 0.0

    def with_overrides(self, **overrides: Any) -> GenerationConfig:
        """A validated copy with the given fields changed (``None`` resets a field that allows it)."""
        if not overrides:
            return self
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        return GenerationConfig(**{**fields, **overrides})

    def non_default_knobs(self) -> set[str]:
        """Names of the knobs set to something other than their default."""
        return {name for name, default in _DEFAULTS if getattr(self, name) != default}


_DEFAULTS = tuple((name, field.default) for name, field in GenerationConfig.model_fields.items())
"""(knob, default) pairs, read once: this check runs on every generate call."""


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "config"
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{field}: {message}" if error["loc"] else message)
    return "invalid GenerationConfig: " + "; ".join(parts)
