"""The README's Python snippets run as written (the mock ones fast, the model one slow)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def _needs_model(code: str) -> bool:
    return 'load_backend("llamacpp")' in code


@pytest.mark.parametrize(
    "code",
    [pytest.param(c, marks=[pytest.mark.slow] if _needs_model(c) else [], id=f"snippet{i}")
     for i, c in enumerate(SNIPPETS)],
)
def test_readme_snippet_runs(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(code, str(README), "exec"), {})
    printed = capsys.readouterr().out
    # A `print(...)  # text` line documents its output: hold the README to it.
    for expected in re.findall(r"^print\(.*\)\s+#\s+(.+)$", code, flags=re.M):
        assert expected.strip() in printed


def test_readme_opens_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    assert first_block.splitlines()[0].startswith("make demo")
    assert first_block.splitlines()[1].startswith("make test")
