"""promptlab: prompting strategies (CoT, PAL, ReAct) on local, quantized and remote language models."""

from promptlab.backends import (
    Backend,
    Capabilities,
    Completion,
    MockBackend,
    RecordingBackend,
    Usage,
    load_backend,
)
from promptlab.chat import (
    Message,
    render_chat_template,
)
from promptlab.config import (
    GenerationConfig,
)
from promptlab.errors import (
    BackendClosedError,
    BackendError,
    BackendSpecError,
    BackendUnavailableError,
    ConfigError,
    ContextLengthError,
    DatasetError,
    MissingDependencyError,
    ModelLoadError,
    PromptlabError,
    ReplayMissError,
    SandboxError,
    ServerResponseError,
    TemplateError,
    TemplateNotFoundError,
    TemplateSecurityError,
    ToolError,
    UnsupportedKnobError,
)
from promptlab.eval import (
    evaluate,
)
from promptlab.prompts import (
    PromptTemplate,
    RenderLimits,
    TemplateLibrary,
)
from promptlab.prompts.fewshot import (
    BM25Selector,
    Example,
    ExampleSelector,
    FixedSelector,
    MMRSelector,
    RandomSelector,
    SimilaritySelector,
    TokenBudgetSelector,
    load_examples,
)
from promptlab.runners import (
    ActionParseError,
    Adaptive,
    ChainOfThoughtRunner,
    ChatReActRunner,
    DirectRunner,
    HybridRunner,
    PALRunner,
    ReActRunner,
    Runner,
    RunResult,
    ToolCallingReActRunner,
    chat_react_runner,
    majority_vote,
    normalize_answer,
)
from promptlab.sandbox import (
    Sandbox,
    SandboxResult,
)
from promptlab.stopping import (
    StopMatcher,
    find_stop,
)
from promptlab.tools import (
    Calculator,
    CalculatorError,
    LocalWikipedia,
    Observation,
    PythonTool,
    Retriever,
    Tool,
    ToolArgumentError,
    ToolRegistry,
    WikipediaEnv,
    WikipediaError,
    tool,
    wikipedia_tools,
)
from promptlab.tracing import (
    Step,
    Trace,
    TraceRecorder,
    read_traces,
    write_trace,
)

__version__ = "0.1.0"

_ENGINES = ("HFBackend", "LlamaCppBackend", "OpenAIBackend")
"""Engine classes, imported on first use: their dependencies (torch, llama.cpp) are heavy."""


def __getattr__(name: str) -> object:
    if name in _ENGINES:
        from promptlab import backends

        return getattr(backends, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ActionParseError",
    "Adaptive",
    "BM25Selector",
    "Backend",
    "BackendClosedError",
    "BackendError",
    "BackendSpecError",
    "BackendUnavailableError",
    "Calculator",
    "CalculatorError",
    "Capabilities",
    "ChainOfThoughtRunner",
    "ChatReActRunner",
    "Completion",
    "ConfigError",
    "ContextLengthError",
    "DatasetError",
    "DirectRunner",
    "Example",
    "ExampleSelector",
    "FixedSelector",
    "GenerationConfig",
    "HFBackend",
    "HybridRunner",
    "LlamaCppBackend",
    "LocalWikipedia",
    "MMRSelector",
    "Message",
    "MissingDependencyError",
    "MockBackend",
    "ModelLoadError",
    "Observation",
    "OpenAIBackend",
    "PALRunner",
    "PromptTemplate",
    "PromptlabError",
    "PythonTool",
    "RandomSelector",
    "ReActRunner",
    "RecordingBackend",
    "RenderLimits",
    "ReplayMissError",
    "Retriever",
    "RunResult",
    "Runner",
    "Sandbox",
    "SandboxError",
    "SandboxResult",
    "ServerResponseError",
    "SimilaritySelector",
    "Step",
    "StopMatcher",
    "TemplateError",
    "TemplateLibrary",
    "TemplateNotFoundError",
    "TemplateSecurityError",
    "TokenBudgetSelector",
    "Tool",
    "ToolArgumentError",
    "ToolCallingReActRunner",
    "ToolError",
    "ToolRegistry",
    "Trace",
    "TraceRecorder",
    "UnsupportedKnobError",
    "Usage",
    "WikipediaEnv",
    "WikipediaError",
    "__version__",
    "chat_react_runner",
    "evaluate",
    "find_stop",
    "load_backend",
    "load_examples",
    "majority_vote",
    "normalize_answer",
    "read_traces",
    "render_chat_template",
    "tool",
    "wikipedia_tools",
    "write_trace",
]
