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


def test_the_wheel_ships_every_dataset_and_an_installed_wheel_loads_them(wheel: Path, tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"promptlab/_data/gsm8k/test.jsonl.gz", "promptlab/_data/LICENSES.md",
            "promptlab/_data/licenses/Apache-2.0.txt"} <= names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "from promptlab.eval import load_dataset\n"
        "from promptlab.eval.datasets import KNOWN\n"
        "for name in KNOWN:\n"
        "    data = load_dataset(name)\n"
        "    print(name, len(data), data.path)\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "PROMPTLAB_DATA"}
    env["PYTHONPATH"] = str(site)
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, check=True)
    rows = [line.split() for line in result.stdout.splitlines()]
    assert len(rows) == 9
    assert {name: int(count) for name, count, _ in rows}["gsm8k"] == 1319
    assert all(Path(path).is_relative_to(site / "promptlab" / "_data") for _, _, path in rows)
