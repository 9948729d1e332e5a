"""SandboxResult: the plain-data outcome of running untrusted code."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["SandboxResult", "SandboxStatus"]

SandboxStatus = Literal["ok", "error", "timeout", "memory", "forbidden"]


class SandboxResult(BaseModel):
    """How a sandboxed run ended. ``value`` is JSON-safe data, never a live object."""

    model_config = ConfigDict(frozen=True)

    status: SandboxStatus
    value: Any = None
    stdout: str = ""
    error: str | None = None
    """What went wrong, for a person (and a model), with the line number when known."""
    line: int | None = None
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"
