"""Process isolation: PAL programs to their answers, limits that hold, a worker that recovers from anything."""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import promptlab.sandbox
from promptlab.errors import ConfigError
from promptlab.sandbox import Sandbox

from .conftest import BENIGN

BUSY = "def solution():\n    while True:\n        pass\n"
linux_only = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


def test_pal_gsm8k_programs_return_their_answers(sandbox: Sandbox, pal_programs: list[dict[str, Any]]) -> None:
    assert len(pal_programs) == 8
    for example in pal_programs:
        result = sandbox.run(example["program"])
        assert result.status == "ok", result
        assert result.value == example["answer"]
        assert result.duration_s > 0


def test_module_level_run_uses_a_default_sandbox(pal_programs: list[dict[str, Any]]) -> None:
    result = promptlab.sandbox.run(pal_programs[0]["program"], timeout=2.0, memory_mb=128)
    assert result.ok and result.value == pal_programs[0]["answer"]
    assert promptlab.sandbox.default_sandbox() is promptlab.sandbox.default_sandbox()


def test_wall_clock_limit_stops_a_busy_program(sandbox: Sandbox) -> None:
    started = time.monotonic()
    result = sandbox.run(BUSY, timeout=0.3)
    assert result.status == "timeout"
    assert "0.3 s" in (result.error or "")
    assert 0.3 <= time.monotonic() - started < 2.0


def test_memory_limit_is_what_the_program_adds(sandbox: Sandbox) -> None:
    fits = "def solution():\n    return len('a' * (40 * 1024 * 1024))\n"
    assert sandbox.run(fits, memory_mb=64).value == 40 * 1024 * 1024
    result = sandbox.run(fits, memory_mb=32)
    assert result.status == "memory"
    assert "32 MB" in (result.error or "") and result.line == 2


def test_output_is_capped_and_says_so(sandbox: Sandbox) -> None:
    result = sandbox.run("def solution():\n    for i in range(1000):\n        print('x' * 99)\n", max_output=500)
    assert result.ok
    assert result.stdout.startswith("x" * 99 + "\n")
    assert result.stdout.endswith("[output truncated: 99500 more characters]")


def test_the_program_may_run_without_calling_a_function(sandbox: Sandbox) -> None:
    result = sandbox.run("print(sum([1, 2]))", call=None)
    assert result.ok and result.value is None and result.stdout == "3\n"


def test_an_overlong_program_is_a_result_not_an_exception(sandbox: Sandbox) -> None:
    result = sandbox.run("x = 1\n" * 200_000)
    assert result.status == "error" and "exceeds" in (result.error or "")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timeout": 0}, "timeout"),
        ({"memory_mb": 1}, "memory_mb"),
        ({"max_output": -1}, "max_output"),
        ({"call": "__init__"}, "call"),
        ({"call": "not a name"}, "call"),
    ],
)
def test_bad_arguments_raise_config_errors(sandbox: Sandbox, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        sandbox.run(BENIGN, **kwargs)


def test_code_must_be_text(sandbox: Sandbox) -> None:
    with pytest.raises(ConfigError, match="string"):
        sandbox.run(b"x = 1")  # type: ignore[arg-type]


def test_runs_from_several_threads_get_their_own_answers(
    sandbox: Sandbox, pal_programs: list[dict[str, Any]]
) -> None:
    answers: dict[int, list[Any]] = {}

    def work(index: int) -> None:
        answers[index] = [sandbox.run(example["program"]).value for example in pal_programs]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = [example["answer"] for example in pal_programs]
    assert all(answers[i] == expected for i in range(4))


def test_a_killed_worker_is_replaced(pal_programs: list[dict[str, Any]]) -> None:
    with Sandbox() as box:
        box.start()
        first = box._worker.process.pid  # type: ignore[union-attr]  # reaching in to kill it, as the OOM killer might
        os.kill(first, 9)
        box._worker.process.wait(timeout=10)  # type: ignore[union-attr]  # dead before the next run, however loaded the host
        result = box.run(pal_programs[1]["program"])
        assert result.value == pal_programs[1]["answer"]
        assert box._worker is not None and box._worker.process.pid != first


def test_a_worker_dying_mid_run_fails_that_run_only() -> None:
    with Sandbox() as box:
        box.start()
        worker = box._worker.process  # type: ignore[union-attr]
        threading.Timer(0.3, worker.kill).start()
        result = box.run(BUSY, timeout=3.0)
        assert result.status == "error" and "worker died" in (result.error or "")
        assert box.run(BENIGN).value == 42


def _children(pid: int) -> list[Path]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, NotADirectoryError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(entry)
    return found


def _limits(proc: Path) -> dict[str, tuple[str, str]]:
    rows = (proc / "limits").read_text().splitlines()[1:]
    return {row[:26].strip(): (row[26:47].strip(), row[47:68].strip()) for row in rows}


def _wait_for_child(pid: int, ready: Any) -> Path:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for child in _children(pid):
            try:
                if ready(child):
                    return child
            except OSError:
                pass
        time.sleep(0.01)
    raise AssertionError("no child of the worker reached the expected state")


@linux_only
def test_waiting_child_is_unprivileged_and_cannot_open_files_or_fork() -> None:
    with Sandbox() as box:
        box.start()
        worker = box._worker.process.pid  # type: ignore[union-attr]
        child = _wait_for_child(worker, lambda c: _limits(c)["Max open files"] == ("0", "0"))
        limits = _limits(child)
        assert limits["Max processes"] == ("0", "0")
        assert limits["Max file size"] == ("0", "0")
        assert limits["Max core file size"] == ("0", "0")
        if os.geteuid() == 0:
            uid_line = next(ln for ln in (child / "status").read_text().splitlines() if ln.startswith("Uid:"))
            assert uid_line.split()[1:] == ["65534"] * 4


@linux_only
def test_running_child_has_cpu_and_address_space_limits() -> None:
    with Sandbox() as box:
        box.start()
        worker = box._worker.process.pid  # type: ignore[union-attr]
        results = []
        thread = threading.Thread(target=lambda: results.append(box.run(BUSY, timeout=1.5, memory_mb=100)))
        thread.start()
        child = _wait_for_child(worker, lambda c: _limits(c)["Max cpu time"] == ("3", "4"))
        address_space = int(_limits(child)["Max address space"][0])
        vm_size = int(re.search(r"VmSize:\s+(\d+) kB", (child / "status").read_text()).group(1))  # type: ignore[union-attr]
        thread.join()
        assert results[0].status == "timeout"
        assert 100 * 2**20 < address_space < vm_size * 1024 + 100 * 2**20 + 2**20


def test_state_a_program_changes_does_not_reach_the_next_run(sandbox: Sandbox) -> None:
    change = "import decimal\ndef solution():\n    decimal.getcontext().prec = 3\n    return str(decimal.Decimal(1)/3)"
    read = "import decimal\ndef solution():\n    return decimal.getcontext().prec\n"
    assert sandbox.run(change).value == "0.333"
    assert sandbox.run(read).value == 28
