"""Run every benchmark in this directory, one after the other (``make bench``).

    .venv/bin/python benchmarks/run_all.py [NAME ...]

Each ``benchmarks/NAME.py`` runs in its own process with its default settings; its
Markdown output is what goes into the matching section of BENCHMARKS.md.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    wanted = set(sys.argv[1:])
    scripts = sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_") and p.name != Path(__file__).name)
    unknown = wanted - {p.stem for p in scripts}
    if unknown:
        raise SystemExit(f"no benchmark named {', '.join(sorted(unknown))}; have {', '.join(p.stem for p in scripts)}")
    failed = []
    for script in scripts:
        if wanted and script.stem not in wanted:
            continue
        print(f"\n## {script.stem}\n\n$ {Path(sys.executable).name} benchmarks/{script.name}\n", flush=True)
        started = time.perf_counter()
        if subprocess.run([sys.executable, str(script)], cwd=HERE.parent, check=False).returncode != 0:
            failed.append(script.stem)
        print(f"\n({time.perf_counter() - started:.0f} s)", flush=True)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
