import importlib
from pathlib import Path
from types import ModuleType

import pytest

import promptlab

PUBLIC_API = {
    "OpenAIBackend",
    "LlamaCppBackend",
    "HFBackend",
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
    "HybridRunner",
    "LocalWikipedia",
    "MMRSelector",
    "Message",
    "MockBackend",
    "MissingDependencyError",
    "ModelLoadError",
    "Observation",
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
}


def test_public_api_is_pinned() -> None:
    """Adding or removing a public name is a deliberate change: update this list with it."""
    assert set(promptlab.__all__) == PUBLIC_API
    assert all(hasattr(promptlab, name) for name in PUBLIC_API)


def test_every_error_derives_from_the_root() -> None:
    errors = [getattr(promptlab, n) for n in promptlab.__all__ if n.endswith("Error")]
    assert len(errors) > 15
    assert all(issubclass(e, promptlab.PromptlabError) for e in errors)


def _public_modules() -> list[str]:
    """Every module whose dotted path has no ``_``-prefixed part (``promptlab.cli`` is an application, not an API)."""
    root = Path(promptlab.__file__).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        if not any(part.startswith("_") for part in parts) and "cli" not in parts:
            names.append(".".join(parts))
    return names


def _import(name: str) -> ModuleType | None:
    """The module, or None when an optional dependency of it (torch, llama.cpp) is not installed."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("promptlab"):
            raise
        return None


@pytest.mark.parametrize("name", _public_modules())
def test_every_public_module_declares_all(name: str) -> None:
    module = _import(name)
    if module is None:
        pytest.skip(f"{name} needs an optional dependency")
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} is public (no leading underscore) but has no __all__"
    assert all(hasattr(module, attribute) for attribute in exported)


def test_a_public_name_means_one_thing_everywhere() -> None:
    """No two public modules export different objects under one name (one normalize_answer, one Example, ...)."""
    owners: dict[str, tuple[str, object]] = {}
    clashes = []
    for module in filter(None, map(_import, _public_modules())):
        name = module.__name__
        for attribute in module.__all__:
            value = getattr(module, attribute)
            if isinstance(value, str | int | float | tuple | frozenset | dict):
                continue  # constants: equal values under one name are fine
            seen = owners.setdefault(attribute, (name, value))
            if seen[1] is not value:
                clashes.append(f"{attribute}: {seen[0]} and {name}")
    assert clashes == []
