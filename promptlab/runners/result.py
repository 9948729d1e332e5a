"""RunResult: what every runner returns, the answer with its trace."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from promptlab.tracing import Trace

__all__ = ["RunResult"]


class RunResult(BaseModel):
    """A runner's answer, how it ended, and the full trace of steps."""

    model_config = ConfigDict(extra="forbid")

    answer: str | None
    status: str
    """"ok", or why there is no trustworthy answer: "no_answer", "error", "max_steps", ..."""
    trace: Trace
    votes: dict[str, int] = Field(default_factory=dict)
    """Self-consistency: normalised answer -> number of samples that gave it (the winner first)."""
    agreement: float | None = None
    """Share of the samples that agree with the chosen answer."""
    samples: int = 1
    """Samples drawn and voted over (adaptive self-consistency may stop before ``n``)."""
    detail: str | None = None
    """Why there is no answer (what the samples did), how a tied vote was broken, or why a weighted
    vote's winner is not the answer given most often."""

    @property
    def ok(self) -> bool:
        return self.status == "ok"
