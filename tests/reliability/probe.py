"""Run a scenario in a fresh Python process and measure it: error, elapsed time, peak memory growth.

The scenario is the body of ``def scenario(mark):``; it calls ``mark()`` once its warm-up
is done (imports, a first good call), so the reported growth of the peak resident set
(``VmHWM`` in ``/proc/self/status``) is what the attack cost, and returns a JSON-able dict.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

_HARNESS = '''
import json, sys, time, traceback

def peak_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")

state = {}

def mark():
    state["base"] = peak_kib()
    state["started"] = time.monotonic()

{body}

try:
    out = scenario(mark) or {}
except BaseException as exc:
    out = {"raised": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc()}
out["elapsed_s"] = time.monotonic() - state.get("started", time.monotonic())
out["growth_mib"] = (peak_kib() - state.get("base", peak_kib())) / 1024
sys.stdout.write("\\nPROBE " + json.dumps(out) + "\\n")
'''


def probe(body: str, *, timeout_s: float = 120.0, **env: str) -> dict[str, Any]:
    """Run ``body`` (defining ``scenario(mark)``) and return its result with ``elapsed_s`` and ``growth_mib``."""
    script = _HARNESS.replace("{body}", textwrap.dedent(body))
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout_s, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith("PROBE "):
            result: dict[str, Any] = json.loads(line[len("PROBE "):])
            return result
    raise AssertionError(f"the probe printed no result (exit {completed.returncode}):\n{completed.stderr[-3000:]}")
