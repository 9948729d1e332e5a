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

