"""The error taxonomy: every error promptlab raises derives from PromptlabError.

``retryable`` says whether the same call may succeed if simply tried again
(a server that is down or overloaded), as opposed to a caller's mistake.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "BackendClosedError",
    "BackendError",
    "BackendSpecError",
    "BackendUnavailableError",
    "ConfigError",
    "ConstraintViolationError",
    "ContextLengthError",
    "DatasetError",
    "MissingDependencyError",
    "ModelLoadError",
    "PromptlabError",
    "ReplayMissError",
    "SandboxError",
    "ServerResponseError",
    "TemplateError",
    "TemplateNotFoundError",
    "TemplateSecurityError",
    "ToolError",
    "UnsupportedKnobError",
    "requires",
]


class PromptlabError(Exception):
    """Root of every error raised by promptlab."""

    retryable: bool = False


class MissingDependencyError(PromptlabError, ImportError):
    """An optional dependency is not installed; the message names the extra that installs it."""

    def __init__(self, feature: str, package: str, extra: str) -> None:
        self.extra = extra
        super().__init__(f"{feature} needs {package}, which is not installed: pip install 'promptlab[{extra}]'")


@contextmanager
def requires(extra: str, feature: str) -> Iterator[None]:
    """Turn a ``ModuleNotFoundError`` inside the block into one :class:`MissingDependencyError`."""
    try:
        yield
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(feature, exc.name or str(exc), extra) from None


class ConfigError(PromptlabError, ValueError):
    """A configuration value is invalid; the message names the field."""


class BackendError(PromptlabError):
    """A backend could not produce a completion."""


class BackendSpecError(BackendError, ValueError):
    """A backend spec string (``mock``, ``llamacpp:PATH``, ...) is not understood."""


class UnsupportedKnobError(BackendError, ValueError):
    """A decoding knob was set that this backend cannot honour."""

    def __init__(self, backend: str, knob: str, hint: str = "") -> None:
        self.backend = backend
        self.knob = knob
        message = f"backend {backend!r} does not support {knob!r}"
        super().__init__(f"{message}: {hint}" if hint else message)


class BackendClosedError(BackendError):
    """A call reached a backend after its ``close()``."""


class ConstraintViolationError(BackendError):
    """A completion does not obey the call's constraint (a server ignored it, or it ran out of tokens).

    ``text`` is the completion as generated; ``constraint`` describes what it had to match.
    """

    def __init__(self, message: str, *, text: str, constraint: str) -> None:
        self.text = text
        self.constraint = constraint
        super().__init__(message)


class ModelLoadError(BackendError):
    """A model file or directory is missing, corrupt or of an unsupported kind."""


class ContextLengthError(BackendError, ValueError):
    """The prompt does not fit the model's context window."""


class BackendUnavailableError(BackendError):
    """A server is down, slow or overloaded; trying again later may work."""

    retryable = True


class ServerResponseError(BackendError):
    """A server answered with an error status or an unreadable body."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        self.status_code = status_code
        super().__init__(message)


class ReplayMissError(BackendError, KeyError):
    """A replayed backend was asked for a prompt it has no recording of."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class TemplateError(PromptlabError):
    """A template is malformed or could not be rendered."""


class TemplateNotFoundError(TemplateError, LookupError):
    """No template of that name exists in the library."""


class TemplateSecurityError(TemplateError):
    """A template reached for Python internals or tried to exhaust resources."""


class ToolError(PromptlabError):
    """A tool is misconfigured or was called with invalid arguments."""


class DatasetError(PromptlabError, ValueError):
    """A dataset file is missing or malformed."""


class SandboxError(PromptlabError):
    """The sandbox itself cannot run programs (its worker process does not start).

    A program that fails, times out or is refused is not an error: it is a ``SandboxResult``.
    """
