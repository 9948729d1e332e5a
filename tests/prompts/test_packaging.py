"""The shipped templates travel inside a regular (non-editable) wheel and are found there."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from promptlab.prompts import shipped_templates_dir

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(out)],
        check=True, capture_output=True, timeout=300,
    )
    (built,) = out.glob("promptlab-*.whl")
    return built


def test_the_wheel_contains_every_shipped_template_file(wheel: Path) -> None:
    shipped = {p.relative_to(shipped_templates_dir()).as_posix()
               for p in shipped_templates_dir().rglob("*") if p.is_file()}
    assert {"pal_gsm.jinja", "pal_chat.chat.yaml", "examples/gsm_pal_prompt.jsonl", "LICENSES.md"} <= shipped
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"promptlab/_templates/{name}" for name in shipped} <= names


def test_an_installed_wheel_finds_its_templates(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "from promptlab.prompts import TemplateLibrary\n"
        "library = TemplateLibrary()\n"
        "template = library.get('pal_gsm')\n"
        "print(template.path)\n"
        "print(template.render(question='QQQ').count('def solution():'))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}  # ahead of the editable install of this checkout
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, check=True)
    path, programs = result.stdout.split()
    assert Path(path).is_relative_to(site / "promptlab" / "_templates")
    assert int(programs) == 8
