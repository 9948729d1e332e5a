"""A minimal GGUF header reader: enough to tell a corrupt file from an unsupported model.

llama.cpp answers every load failure with the same message; reading the header
first lets :class:`~promptlab.backends.llamacpp.LlamaCppBackend` say *why*.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from promptlab.errors import ModelLoadError

GGUF_MAGIC = b"GGUF"
_STRING, _ARRAY = 8, 9
_SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_MAX_STRING = 1 << 24  # no sane key or metadata string is longer; a larger length means corruption


def gguf_architecture(path: Path) -> str | None:
    """The ``general.architecture`` of a GGUF file, or None when the header lacks it.

    Raises :class:`ModelLoadError` naming the path when the file is missing, is not
    a GGUF file, or its header is truncated or malformed.
    """
    if not path.exists():
        raise ModelLoadError(f"model file {str(path)!r} does not exist")
    if not path.is_file():
        raise ModelLoadError(f"model path {str(path)!r} is not a file (llama.cpp needs a .gguf file)")
    try:
        with path.open("rb") as source:
            return _read_architecture(source)
    except (struct.error, EOFError, UnicodeDecodeError, ValueError) as exc:
        raise ModelLoadError(f"model file {str(path)!r} is corrupt: its GGUF header is unreadable ({exc})") from None
    except OSError as exc:
        raise ModelLoadError(f"cannot read model file {str(path)!r}: {exc.strerror or exc}") from None


def _read_architecture(source: BinaryIO) -> str | None:
    magic = source.read(4)
    if magic != GGUF_MAGIC:
        raise ValueError(f"it starts with {magic!r}, not {GGUF_MAGIC!r}: not a GGUF file")
    (version,) = _unpack(source, "<I")
    if version not in (2, 3):
        raise ValueError(f"unsupported GGUF version {version}")
    _tensor_count, kv_count = _unpack(source, "<QQ")
    for _ in range(kv_count):
        key = _read_string(source)
        (value_type,) = _unpack(source, "<I")
        if key == "general.architecture" and value_type == _STRING:
            return _read_string(source)
        _skip_value(source, value_type)
    return None


def _unpack(source: BinaryIO, layout: str) -> tuple[int, ...]:
    size = struct.calcsize(layout)
    data = source.read(size)
    if len(data) != size:
        raise EOFError("file ends inside the header")
    return struct.unpack(layout, data)


def _read_string(source: BinaryIO) -> str:
    (length,) = _unpack(source, "<Q")
    if length > _MAX_STRING:
        raise ValueError(f"implausible string length {length}")
    data = source.read(length)
    if len(data) != length:
        raise EOFError("file ends inside the header")
    return data.decode("utf-8")


def _skip_value(source: BinaryIO, value_type: int) -> None:
    if value_type == _STRING:
        _read_string(source)
    elif value_type == _ARRAY:
        item_type, count = _unpack(source, "<IQ")
        if item_type in _SCALAR_SIZES:
            source.seek(_SCALAR_SIZES[item_type] * count, 1)
        else:
            for _ in range(count):
                _skip_value(source, item_type)
    elif value_type in _SCALAR_SIZES:
        source.seek(_SCALAR_SIZES[value_type], 1)
    else:
        raise ValueError(f"unknown metadata value type {value_type}")
