"""promptlab: the generation side of LLM applications."""

from promptlab.backends import (
    Backend,
    Capabilities,
    Completion,
    MockBackend,
    RecordingBackend,
    Usage,
    load_backend,
)
from promptlab.chat import Message, render_chat_template
from promptlab.config import GenerationConfig
from promptlab.errors import (
    BackendError,
    BackendSpecError,
    BackendUnavailableError,
    ConfigError,
    ContextLengthError,
    DatasetError,
    ModelLoadError,
    PromptlabError,
    ReplayMissError,
    ServerResponseError,
    TemplateError,
    TemplateNotFoundError,
    TemplateSecurityError,
    ToolError,
    UnsupportedKnobError,
)
from promptlab.runners.result import RunResult
from promptlab.stopping import StopMatcher, find_stop
from promptlab.tracing import Step, Trace, TraceRecorder, read_traces

__version__ = "0.1.0"

__all__ = [
    "Backend",
    "BackendError",
    "BackendSpecError",
    "BackendUnavailableError",
    "Capabilities",
    "Completion",
    "ConfigError",
    "ContextLengthError",
    "DatasetError",
    "GenerationConfig",
    "Message",
    "MockBackend",
    "ModelLoadError",
    "PromptlabError",
    "RecordingBackend",
    "ReplayMissError",
    "RunResult",
    "ServerResponseError",
    "Step",
    "StopMatcher",
    "TemplateError",
    "TemplateNotFoundError",
    "TemplateSecurityError",
    "ToolError",
    "Trace",
    "TraceRecorder",
    "UnsupportedKnobError",
    "Usage",
    "__version__",
    "find_stop",
    "load_backend",
    "read_traces",
    "render_chat_template",
]
