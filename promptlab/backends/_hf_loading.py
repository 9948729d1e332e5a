"""Loading a transformers model for :class:`~promptlab.backends.hf.HFBackend`.

Resolves where the weights are (a model directory or a GGUF file), on which device
and in which dtype they run, and how they are quantized. Every failure becomes a
:class:`ModelLoadError` (or :class:`ConfigError` for a bad option) naming the cause;
nothing is ever downloaded (``local_files_only=True``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from promptlab.backends._gguf import gguf_architecture
from promptlab.errors import ConfigError, ModelLoadError

Quantization = Literal["nf4", "int8"]
QUANTIZATIONS = ("nf4", "int8")
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}

CUDA_ONLY_HINT = (
    "this machine has no CUDA GPU. On a CPU, run a quantized GGUF file with the llama.cpp backend instead "
    "(load_backend('llamacpp:MODEL.gguf')), or load the unquantized model with quantization=None"
)


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are: a directory, plus the GGUF file in it if any."""

    directory: Path
    gguf_file: str | None = None

    @property
    def label(self) -> str:
        return str(self.directory / self.gguf_file) if self.gguf_file else str(self.directory)


def resolve_source(path: str | Path, gguf_file: str | None = None) -> ModelSource:
    """A model directory, or a ``.gguf`` file (given as its path, or as ``gguf_file`` inside ``path``)."""
    location = Path(path).expanduser()
    if not location.exists():
        raise ModelLoadError(f"model path {location} does not exist")
    if location.is_file():
        if location.suffix.lower() != ".gguf":
            raise ModelLoadError(f"{location} is a file but not a .gguf file: pass a model directory or a GGUF file")
        if gguf_file is not None and gguf_file != location.name:
            raise ConfigError(f"gguf_file={gguf_file!r} conflicts with the GGUF path {location}")
        return ModelSource(location.parent, location.name)
    if gguf_file is not None:
        if not (location / gguf_file).is_file():
            raise ModelLoadError(f"GGUF file {gguf_file!r} not found in {location}")
        return ModelSource(location, gguf_file)
    if not (location / "config.json").is_file():
        raise ModelLoadError(
            f"{location} has no config.json, so it is not a transformers model directory "
            "(for a GGUF file, pass the file's path)"
        )
    return ModelSource(location)


def resolve_device(device: str) -> torch.device:
    """``"auto"`` means CUDA when there is a GPU, else CPU; asking for CUDA without one is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"device={device!r} is not a torch device ('auto', 'cpu', 'cuda', 'cuda:1', ...)") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(f"device={device!r} but no CUDA GPU is available here: use device='cpu' or 'auto'")
    return resolved


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype | str:
    """float32 on CPU by default; on a GPU the checkpoint's own dtype (``"auto"``)."""
    if dtype is None:
        return "auto" if device.type == "cuda" else torch.float32
    if isinstance(dtype, torch.dtype) or dtype == "auto":
        return dtype
    if dtype not in DTYPES:
        raise ConfigError(f"dtype={dtype!r} is not one of {sorted(DTYPES)} or 'auto'")
    return DTYPES[dtype]


def prequantized_method(source: ModelSource) -> str | None:
    """The ``quant_method`` (gptq, awq, bitsandbytes, ...) a checkpoint's config.json declares, if any."""
    if source.gguf_file is not None:
        return None
    try:
        config = json.loads((source.directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {source.directory / 'config.json'}: {exc}") from exc
    quantization = config.get("quantization_config") if isinstance(config, dict) else None
    if not isinstance(quantization, dict):
        return None
    return str(quantization.get("quant_method", "unknown"))


def quantization_config(quantization: str | None, source: ModelSource, device: torch.device) -> Any | None:
    """A bitsandbytes config for ``nf4``/``int8``; None for unquantized or pre-quantized checkpoints.

    Both bitsandbytes and pre-quantized (GPTQ, AWQ, ...) checkpoints need CUDA.
    """
    if quantization is not None and quantization not in QUANTIZATIONS:
        raise ConfigError(f"quantization={quantization!r} is not one of {QUANTIZATIONS} or None")
    if quantization is not None and source.gguf_file is not None:
        raise ConfigError("a GGUF file is already quantized: quantization applies to model directories")
    prequantized = prequantized_method(source)
    if quantization is not None and prequantized is not None:
        raise ConfigError(f"{source.label} is already quantized ({prequantized}): leave quantization=None")
    if quantization is None and prequantized is None:
        return None
    what = f"quantization={quantization!r} (bitsandbytes)" if quantization else f"the {prequantized} checkpoint"
    if device.type != "cuda":
        raise ModelLoadError(f"{what} needs a CUDA GPU, but {CUDA_ONLY_HINT}")
    if quantization is None:
        return None  # transformers reads the checkpoint's own quantization_config
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as exc:
        raise ModelLoadError(f"{what} needs the bitsandbytes package: pip install 'promptlab[hf-cuda]'") from exc
    from transformers import BitsAndBytesConfig

    bnb: Any = BitsAndBytesConfig
    if quantization == "nf4":
        return bnb(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
    return bnb(load_in_8bit=True)


def check_gguf(source: ModelSource) -> None:
    """Read the GGUF header: a corrupt file, or an architecture transformers cannot load, fails here clearly."""
    if source.gguf_file is None:
        return
    path = source.directory / source.gguf_file
    architecture = gguf_architecture(path)
    if architecture is None:
        raise ModelLoadError(f"{path} has no general.architecture entry: not a model GGUF file")
    try:
        from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES
    except ImportError:  # moved in another transformers version: loading will tell
        return
    if architecture not in GGUF_SUPPORTED_ARCHITECTURES:
        raise ModelLoadError(
            f"{path} holds a {architecture!r} model, an architecture transformers cannot load from GGUF; "
            "run it with the llama.cpp backend (load_backend('llamacpp:PATH.gguf'))"
        )


def load_tokenizer(source: ModelSource, *, trust_remote_code: bool) -> Any:
    """The model's tokenizer (from the directory, or rebuilt from the GGUF metadata)."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(
            str(source.directory),
            gguf_file=source.gguf_file,
            local_files_only=True,
            trust_remote_code=trust_remote_code,
        )
    except Exception as exc:
        raise ModelLoadError(f"cannot load the tokenizer of {source.label}: {type(exc).__name__}: {exc}") from exc


def load_model(
    source: ModelSource,
    *,
    device: torch.device,
    dtype: torch.dtype | str,
    quantization: Any | None,
    trust_remote_code: bool,
) -> Any:
    """The causal LM, in eval mode, on ``device``."""
    from transformers import AutoModelForCausalLM

    quantized = quantization is not None or prequantized_method(source) is not None
    options: dict[str, Any] = {
        "gguf_file": source.gguf_file,
        "local_files_only": True,
        "trust_remote_code": trust_remote_code,
        "dtype": dtype,
    }
    if quantization is not None:
        options["quantization_config"] = quantization
    if quantized:
        options["device_map"] = {"": device}  # quantized weights are placed while loading, never moved after
    try:
        model: Any = AutoModelForCausalLM.from_pretrained(str(source.directory), **options)
        if not quantized:
            model.to(device)
    except Exception as exc:
        raise ModelLoadError(f"cannot load the model {source.label}: {type(exc).__name__}: {exc}") from exc
    model.eval()
    return model
