"""Finding the program in a completion."""

from __future__ import annotations

import pytest

from promptlab.runners.code import defines, extract_code

SOLUTION = "def solution():\n    x = 1\n    return x"


@pytest.mark.parametrize(("completion", "code"), [
    (SOLUTION, SOLUTION),
    (SOLUTION + "\n\nThe answer is 1.", SOLUTION),  # trailing prose dropped
    ("Sure:\n```python\n" + SOLUTION + "\n```\nDone.", SOLUTION),
    ("```py\n" + SOLUTION, SOLUTION),  # an unclosed fence (cut by a stop)
    ("```\nimport math\n" + SOLUTION + "\n```", "import math\n" + SOLUTION),
    ("```bash\nls\n```\n```python\n" + SOLUTION + "\n```", SOLUTION),
    ("```python\nx = 2\n```\n```python\n" + SOLUTION + "\n```", SOLUTION),  # the block defining solution
    ("  ```python\n    def solution():\n        return 4\n  ```", "def solution():\n    return 4"),
    ("import math\n\n" + SOLUTION + "\n    # note\n\nprint(solution())",
     "import math\n\n" + SOLUTION + "\n    # note\n\nprint(solution())"),
])
def test_extract_code(completion: str, code: str) -> None:
    assert extract_code(completion) == code


def test_broken_code_is_kept_for_the_sandbox_to_report() -> None:
    broken = "def solution():\n    return (1 +"
    assert extract_code(broken) == broken


def test_no_code() -> None:
    assert extract_code("I don't know how to solve this.") is None
    assert extract_code("```\n\n```") is None


def test_defines() -> None:
    assert defines(SOLUTION, "solution")
    assert not defines("def solutions():\n    pass", "solution")
    assert not defines("    def solution():\n        pass", "solution")
