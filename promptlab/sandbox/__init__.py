"""Run untrusted Python (model-written programs) under RestrictedPython in a separate process with limits.

``run(code)`` executes ``code`` and returns ``solution()``'s value as a ``SandboxResult``; see docs/sandbox.md.
"""

from promptlab.sandbox.host import Sandbox, default_sandbox, run
from promptlab.sandbox.result import SandboxResult, SandboxStatus

__all__ = ["Sandbox", "SandboxResult", "SandboxStatus", "default_sandbox", "run"]
