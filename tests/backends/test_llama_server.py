from pathlib import Path

import pytest

from promptlab.backends.llama_server import llama_server
from promptlab.errors import BackendUnavailableError


@pytest.mark.slow
def test_a_server_that_cannot_start_raises_with_its_log(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(BackendUnavailableError, match=r"llama_cpp\.server exited"), llama_server(broken):
        pass



def test_no_llama_server_binary_names_the_three_ways_to_get_one(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    from promptlab.backends.llama_server import llama_server_binary

    monkeypatch.delenv("PROMPTLAB_LLAMA_SERVER", raising=False)
    monkeypatch.setenv("PROMPTLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"make llama-server.*PATH.*PROMPTLAB_LLAMA_SERVER"):
        llama_server_binary()
    monkeypatch.setenv("PROMPTLAB_LLAMA_SERVER", str(tmp_path / "nothing-here"))
    with pytest.raises(FileNotFoundError, match="not an executable file"):
        llama_server_binary()


def test_the_cached_build_is_found_by_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from promptlab.backends.llama_server import llama_server_binary, llama_server_cache_dir

    monkeypatch.delenv("PROMPTLAB_LLAMA_SERVER", raising=False)
    monkeypatch.setenv("PROMPTLAB_CACHE_DIR", str(tmp_path))
    built = llama_server_cache_dir() / "bin" / "llama-server"
    assert built.is_relative_to(tmp_path / "llama-server")
    built.parent.mkdir(parents=True)
    built.write_text("#!/bin/sh\n")
    built.chmod(0o755)
    assert llama_server_binary() == built


@pytest.mark.slow
def test_a_llama_server_that_cannot_load_its_model_raises_with_its_log(native_server: str, tmp_path: Path) -> None:
    from promptlab.backends.llama_server import native_llama_server

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    refused = pytest.raises(BackendUnavailableError, match=r"llama-server exited(.|\n)*failed to load model")
    with refused, native_llama_server(broken):
        pass
