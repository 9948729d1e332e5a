"""A minimal runner over a backend, so harness tests do not depend on any strategy's prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptlab.backends import Backend, MockBackend
from promptlab.config import GenerationConfig
from promptlab.errors import BackendUnavailableError
from promptlab.eval.checkpoint import EvalConfig
from promptlab.eval.datasets import Dataset, load_dataset
from promptlab.runners.result import RunResult
from promptlab.tracing import TraceRecorder


class EchoRunner:
    """Sends ``Q: question`` to the backend; the completion is the answer."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def arun(self, question: str) -> RunResult:
        recorder = TraceRecorder("echo", question)
        prompt = f"Q: {question}\nA:"
        [completion] = await self.backend.agenerate(prompt, GenerationConfig(max_new_tokens=8))
        recorder.add("generate", prompt=prompt, completion=completion.text,
                     prompt_tokens=completion.usage.prompt_tokens,
                     completion_tokens=completion.usage.completion_tokens, latency_s=0.01)
        answer = completion.text.strip() or None
        status = "ok" if answer else "no_answer"
        return RunResult(answer=answer, status=status, trace=recorder.finish(answer, status))

    def run(self, question: str) -> RunResult:
        raise AssertionError("the harness must prefer arun")


class DyingBackend(MockBackend):
    """A mock whose server goes away after ``alive`` calls."""

    def __init__(self, alive: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.alive = alive

    def _generate(self, prompt: str, config: GenerationConfig):  # type: ignore[no-untyped-def]
        if len(self.prompts) >= self.alive:
            raise BackendUnavailableError("server at 127.0.0.1:9 refused the connection")
        return super()._generate(prompt, config)


def addition(prompt: str) -> str:
    """Answers ``What is A + B?`` correctly, except for 7 + 7 (to have failures)."""
    a, b = (int(x) for x in prompt.split("What is ")[1].split("?")[0].split(" + "))
    return "15" if (a, b) == (7, 7) else str(a + b)


@pytest.fixture
def sums(tmp_path: Path) -> Dataset:
    path = tmp_path / "sums.jsonl"
    path.write_text("".join(json.dumps({"id": f"s{i}", "question": f"What is {i} + {i}?", "answer": str(2 * i)})
                            + "\n" for i in range(10)), encoding="utf-8")
    return load_dataset(path)


def config_for(data: Dataset, strategy: str = "echo") -> EvalConfig:
    return EvalConfig(dataset=data.name, dataset_path=str(data.path), fingerprint=data.fingerprint,
                      task=data.task, strategy=strategy, backend="mock")
