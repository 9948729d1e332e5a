"""LoRA/PEFT adapters for the transformers backend: attach several, switch the active one per call."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promptlab.errors import ConfigError, ModelLoadError, requires


class AdapterSet:
    """Adapters injected into one model by name; ``activate(None)`` runs the base model.

    The adapters' layers are injected into the model's own modules (peft), so the
    model object itself generates with whichever adapter is active; switching
    copies no weights.
    """

    def __init__(self, model: Any, adapters: Mapping[str, str | Path] | None = None) -> None:
        self.names: tuple[str, ...] = tuple(adapters or ())
        self._peft: Any = None
        self._active: str | None = None
        for name, path in (adapters or {}).items():
            self._load(model, name, Path(path).expanduser())
        if self._peft is not None:
            self._peft.base_model.disable_adapter_layers()

    def _load(self, model: Any, name: str, location: Path) -> None:
        if not (location / "adapter_config.json").is_file():
            raise ModelLoadError(f"adapter {name!r}: {location} has no adapter_config.json (not a PEFT adapter)")
        with requires("hf", "LoRA adapters"):
            import peft
        try:
            if self._peft is None:
                PeftModel: Any = peft.PeftModel

                self._peft = PeftModel.from_pretrained(model, str(location), adapter_name=name, is_trainable=False)
            else:
                self._peft.load_adapter(str(location), adapter_name=name, is_trainable=False)
        except Exception as exc:  # peft raises ValueError, KeyError, RuntimeError (shape mismatch), ...
            raise ModelLoadError(f"cannot load adapter {name!r} from {location}: {type(exc).__name__}: {exc}") from exc

    def check(self, name: str | None) -> str | None:
        """``name`` if it is an attached adapter (or None), else a ConfigError listing them."""
        if name is not None and name not in self.names:
            known = ", ".join(self.names) or "none attached"
            raise ConfigError(f"unknown adapter {name!r} (adapters: {known})")
        return name

    def activate(self, name: str | None) -> None:
        """Make ``name`` the adapter the model runs with (None: the base model alone)."""
        if name == self._active or self._peft is None:
            return
        if name is None:
            self._peft.base_model.disable_adapter_layers()
        else:
            self._peft.base_model.enable_adapter_layers()
            self._peft.set_adapter(name)
        self._active = name
