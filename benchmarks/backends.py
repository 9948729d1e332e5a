"""Backend benchmarks, measured side by side in one run (ratios matter; the machine may be shared).

    python benchmarks/backends.py                 # every engine
    python benchmarks/backends.py --only llamacpp # one engine

Per engine:
  * overhead: promptlab's generate against the raw library call, same prompt and
    settings, runs interleaved; reports decode tokens/s of each and the ratio
    (llama.cpp: on a one-line prompt and after the long few-shot PAL prompt).
  * react: a 5-step ReAct-style episode (the ``webthink_simple6`` few-shot prompt plus
    a growing scratchpad, 30 new tokens per step) with prefix reuse off (the cache cleared
    every step; for llama.cpp, whose engine has no cache to clear, each step's prompt starts
    with its own line) and on, and for a second question that shares the few-shot prefix.

An engine registers its measurements in ENGINES: a function returning table rows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from promptlab.backends.base import Backend  # noqa: E402
from promptlab.runners.pal import PALRunner  # noqa: E402

REACT_PROMPTS = ROOT / "templates" / "examples" / "react_prompts_naive.json"
QUESTIONS = (
    "Which magazine was started first, Arthur's Magazine or First for Women?",
    "Were Pavel Urysohn and Leonid Levin known for the same type of work?",
)
OBSERVATION = "Observation {step}: (Result 1 / 1) The article says nothing more about this.\n"
OVERHEAD_PROMPT = "Write a long story about a lighthouse keeper who finds a message in a bottle.\n\nStory:"
PAL_QUESTION = (
    "Every day Ryan spends 7 hours on learning english and some more hours on learning chinese. If he spends "
    "2 hours more on learning english than on learning chinese. How many hours does he spend on learning chinese?"
)
Row = tuple[str, ...]


def react_prefix(question: str) -> str:
    few_shot = json.loads(REACT_PROMPTS.read_text(encoding="utf-8"))["webthink_simple6"]
    return f"{few_shot}\nQuestion: {question}\n"


def react_episode(
    backend: Backend, question: str, *, reset: Callable[[], None] | None = None, fresh: bool = False
) -> tuple[float, int, int]:
    """Run 5 steps of 30 greedy tokens on a growing scratchpad; (seconds, evaluated, reused) prompt tokens.

    ``reset`` is called before each step; ``fresh``: each step's prompt starts with its own line,
    so no cached prefix can serve it (for an engine with no cache to clear).
    """
    prompt = react_prefix(question)
    evaluated = reused = 0
    started = time.perf_counter()
    for step in range(1, 6):
        if reset is not None:
            reset()
        result = backend.complete(f"Step {step}.\n{prompt}" if fresh else prompt, max_new_tokens=30)
        evaluated += result.usage.prompt_tokens - result.usage.cached_prompt_tokens
        reused += result.usage.cached_prompt_tokens
        prompt += result.text + "\n" + OBSERVATION.format(step=step)
    return time.perf_counter() - started, evaluated, reused


# ----------------------------------------------------------------------------- llama.cpp
def llamacpp_rows(rounds: int) -> list[Row]:
    from llama_cpp import Llama

    from promptlab.backends.embedded import embedded_model_path
    from promptlab.backends.llamacpp import LlamaCppBackend, default_threads

    backend = LlamaCppBackend(n_ctx=4096, seed=0)
    threads = default_threads()  # the backend's default; the raw side gets a model of its own
    llm = Llama(model_path=str(embedded_model_path()), n_ctx=4096, n_threads=threads, n_threads_batch=threads,
                verbose=False)
    max_tokens = 128
    rows: list[Row] = []
    # (label, prompt, whether the texts must match: a long prompt is evaluated in other chunks, near-ties may part)
    prompts = [("", OVERHEAD_PROMPT, True),
               (", after the 8-shot PAL prompt", PALRunner(backend).prompt(PAL_QUESTION), False)]
    for label, prompt, same_text in prompts:
        llm(prompt, max_tokens=1, temperature=0.0)  # both sides cache the prompt first: the rows time decoding
        backend.complete(prompt, max_new_tokens=1)
        raw_rates, ours_rates = [], []
        for _ in range(rounds):  # interleaved: a load spike hits both sides alike
            started = time.perf_counter()
            raw = cast(dict[str, Any], llm(prompt, max_tokens=max_tokens, temperature=0.0, top_k=0, top_p=1.0,
                                           min_p=0.0, typical_p=1.0, repeat_penalty=1.0))
            raw_rates.append(raw["usage"]["completion_tokens"] / (time.perf_counter() - started))
            started = time.perf_counter()
            ours = backend.complete(prompt, max_new_tokens=max_tokens)
            ours_rates.append(ours.usage.completion_tokens / (time.perf_counter() - started))
            if same_text:
                assert ours.text == raw["choices"][0]["text"], "promptlab and Llama.__call__ must agree"
        raw_rate, ours_rate = statistics.median(raw_rates), statistics.median(ours_rates)
        rows.append(("llama.cpp", f"decode tokens/s, {max_tokens} greedy tokens{label} (median of {rounds})",
                     f"Llama.__call__ {raw_rate:.1f}", f"promptlab {ours_rate:.1f}",
                     f"overhead {100 * (raw_rate / ours_rate - 1):+.1f}%"))
    timings: dict[str, list[float]] = {"off": [], "on": [], "second": []}
    reuse: dict[str, tuple[int, int]] = {}
    for _ in range(rounds):
        seconds, *counts = react_episode(backend, QUESTIONS[0], fresh=True)
        timings["off"].append(seconds)
        reuse["off"] = (counts[0], counts[1])
        seconds, *counts = react_episode(backend, QUESTIONS[0])
        timings["on"].append(seconds)
        reuse["on"] = (counts[0], counts[1])
        seconds, *counts = react_episode(backend, QUESTIONS[1])  # few-shot prefix still cached
        timings["second"].append(seconds)
        reuse["second"] = (counts[0], counts[1])
    labels = {"off": "no reuse (each step's prompt starts anew)", "on": "prefix reuse, first question",
              "second": "prefix reuse, second question"}
    off = statistics.median(timings["off"])
    for key, label in labels.items():
        seconds = statistics.median(timings[key])
        evaluated, reused = reuse[key]
        rows.append(("llama.cpp", f"5-step ReAct episode: {label}", f"{seconds:.1f} s",
                     f"prompt tokens evaluated {evaluated}, reused {reused}", f"{off / seconds:.1f}x vs no reuse"))
    llm.close()
    backend.close()
    return rows


# ------------------------------------------------------------------- OpenAI-compatible
def openai_rows(rounds: int) -> list[Row]:
    from promptlab.backends.openai import OpenAIBackend

    rows: list[Row] = []
    from promptlab.backends.llama_server import llama_server

    with llama_server() as url:
        backend = OpenAIBackend(url, dialect="llama-cpp")
        max_tokens = 128
        raw_rates, ours_rates, raw_stop, ours_stop = [], [], [], []
        backend.complete(OVERHEAD_PROMPT, max_new_tokens=2)  # discovers the model name, warms the cache
        body = {"model": backend.model, "prompt": OVERHEAD_PROMPT, "max_tokens": max_tokens, "temperature": 0.0,
                "top_p": 1.0, "top_k": 0, "min_p": 0.0, "typical_p": 1.0, "repeat_penalty": 1.0}
        with httpx.Client(timeout=120) as client:
            for _ in range(rounds):
                started = time.perf_counter()
                raw = client.post(f"{url}/completions", json=body).json()
                raw_rates.append(raw["usage"]["completion_tokens"] / (time.perf_counter() - started))
                started = time.perf_counter()
                ours = backend.complete(OVERHEAD_PROMPT, max_new_tokens=max_tokens)
                ours_rates.append(ours.usage.completion_tokens / (time.perf_counter() - started))
                assert ours.text == raw["choices"][0]["text"]
                stop = ours.text[len(ours.text) // 2 :].split()[0]
                started = time.perf_counter()
                client.post(f"{url}/completions", json={**body, "stop": [stop]}).raise_for_status()
                raw_stop.append(time.perf_counter() - started)
                started = time.perf_counter()
                backend.complete(OVERHEAD_PROMPT, max_new_tokens=max_tokens, stop=[stop])
                ours_stop.append(time.perf_counter() - started)
        raw_rate, ours_rate = statistics.median(raw_rates), statistics.median(ours_rates)
        rows.append(("openai (llama-cpp-python server)",
                     f"decode tokens/s, {max_tokens} greedy tokens (median of {rounds})",
                     f"raw httpx POST {raw_rate:.1f}", f"promptlab {ours_rate:.1f}",
                     f"overhead {100 * (raw_rate / ours_rate - 1):+.1f}%"))
        raw_s, ours_s = statistics.median(raw_stop), statistics.median(ours_stop)
        rows.append(("openai (llama-cpp-python server)", "call with a stop string mid-way (median latency)",
                     f"server-side stop {raw_s:.2f} s", f"client-side stop, streamed {ours_s:.2f} s",
                     f"{ours_s / raw_s:.2f}x"))
        first = react_episode(backend, QUESTIONS[0])[0]
        second = react_episode(backend, QUESTIONS[1])[0]
        rows.append(("openai (llama-cpp-python server)", "5-step ReAct episode (the server reuses the prefix)",
                     f"first question {first:.1f} s", f"second question {second:.1f} s", "-"))
        backend.close()
    return rows


# ---------------------------------------------------------------------------- transformers
COT_EXEMPLARS = ROOT / "templates" / "examples" / "gsm8k_cot_8shot.jsonl"
COT_QUESTION = (
    "A robe takes 2 bolts of blue fiber and half that much white fiber.  How many bolts in total does it take?"
)


def cot_prompt() -> str:
    """The 8-shot GSM8K chain-of-thought prompt (Q:/A: layout) and one GSM8K test question."""
    lines = COT_EXEMPLARS.read_text(encoding="utf-8").splitlines()
    shots = [json.loads(line) for line in lines if line.strip()]
    exemplars = "".join(f"Q: {s['question']}\nA: {s['rationale']}\n\n" for s in shots)
    return f"{exemplars}Q: {COT_QUESTION}\nA:"


def hf_overhead_rows(backend: Any, rounds: int) -> list[Row]:
    """HFBackend.complete against tokenizer + model.generate + decode, greedy, interleaved."""
    import torch

    model, tokenizer = backend.model, backend.tokenizer
    max_tokens = 128
    raw_rates, ours_rates = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        ids = tokenizer(OVERHEAD_PROMPT, return_tensors="pt").input_ids
        with torch.inference_mode():
            out = model.generate(ids, max_new_tokens=max_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        raw_text = tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
        raw_rates.append((out.shape[1] - ids.shape[1]) / (time.perf_counter() - started))
        backend.clear_cache()  # the engine path, not prefix reuse
        started = time.perf_counter()
        ours = backend.complete(OVERHEAD_PROMPT, max_new_tokens=max_tokens)
        ours_rates.append(ours.usage.completion_tokens / (time.perf_counter() - started))
        assert ours.text == raw_text, "promptlab and model.generate must agree"
    raw_rate, ours_rate = statistics.median(raw_rates), statistics.median(ours_rates)
    raw_best, ours_best = max(raw_rates), max(ours_rates)  # the best run is the one a load spike spared
    return [
        ("transformers", f"decode tokens/s, {max_tokens} greedy tokens (median, best of {rounds})",
         f"model.generate {raw_rate:.1f}, {raw_best:.1f}", f"promptlab {ours_rate:.1f}, {ours_best:.1f}",
         f"overhead {100 * (raw_rate / ours_rate - 1):+.1f}% (best: {100 * (raw_best / ours_best - 1):+.1f}%)"),
    ]  # fmt: skip


def hf_samples_rows(backend: Any, rounds: int) -> list[Row]:
    """n = 8 samples of the CoT prompt: one batched call, vs one sample, num_return_sequences=8, 8 calls."""
    import torch

    model, tokenizer = backend.model, backend.tokenizer
    prompt, tokens = cot_prompt(), 48
    settings: dict[str, Any] = {"max_new_tokens": tokens, "temperature": 0.7}

    def ours(n: int) -> float:
        backend.clear_cache()
        started = time.perf_counter()
        backend.generate(prompt, n=n, seed=1, **settings)
        return time.perf_counter() - started

    def return_sequences() -> float:
        started = time.perf_counter()
        ids = tokenizer(prompt, return_tensors="pt").input_ids
        with torch.inference_mode():
            model.generate(ids, do_sample=True, num_return_sequences=8, top_k=0, pad_token_id=tokenizer.pad_token_id,
                           **settings)  # fmt: skip
        return time.perf_counter() - started

    def separate_calls() -> float:
        started = time.perf_counter()
        for seed in range(8):
            backend.clear_cache()
            backend.generate(prompt, seed=seed, **settings)
        return time.perf_counter() - started

    runs = {"one": lambda: ours(1), "batched": lambda: ours(8), "nrs": return_sequences, "calls": separate_calls}
    timings: dict[str, list[float]] = {key: [] for key in runs}
    for _ in range(rounds):  # interleaved: a load spike hits every variant alike
        for key, run in runs.items():
            timings[key].append(run())
    labels = {"one": "1 sample (promptlab)", "batched": "n=8, prompt encoded once (promptlab)",
              "nrs": "n=8, model.generate num_return_sequences=8", "calls": "8 separate calls, no cache"}  # fmt: skip
    one = statistics.median(timings["one"])
    count = backend.count_tokens(prompt)
    return [
        ("transformers", f"CoT self-consistency, {count}-token prompt, {tokens} sampled tokens: {label}",
         f"{statistics.median(timings[key]):.2f} s", f"median of {rounds}",
         f"{statistics.median(timings[key]) / one:.2f}x one sample")
        for key, label in labels.items()
    ]  # fmt: skip


def hf_react_rows(backend: Any, rounds: int) -> list[Row]:
    """The 5-step ReAct episode: cache cleared every step, prefix reused, prefix carried to a second question."""
    episodes = (
        ("off", "cache cleared every step", QUESTIONS[0], backend.clear_cache),
        ("on", "prefix reuse, first question", QUESTIONS[0], None),
        ("second", "prefix reuse, second question", QUESTIONS[1], None),  # few-shot prefix still cached
    )
    timings: dict[str, list[float]] = {key: [] for key, *_ in episodes}
    reuse: dict[str, tuple[int, int]] = {}
    for _ in range(rounds):
        for key, _label, question, reset in episodes:
            if key == "on":
                backend.clear_cache()
            seconds, evaluated, reused = react_episode(backend, question, reset=reset)
            timings[key].append(seconds)
            reuse[key] = (evaluated, reused)
    off = statistics.median(timings["off"])
    rows: list[Row] = []
    for key, label, *_ in episodes:
        seconds = statistics.median(timings[key])
        evaluated, reused = reuse[key]
        counts = f"prompt tokens evaluated {evaluated}, reused {reused}"
        rows.append(("transformers", f"5-step ReAct episode: {label}", f"{seconds:.1f} s", counts,
                     f"{off / seconds:.1f}x vs cleared"))  # fmt: skip
    return rows


def hf_rows(rounds: int) -> list[Row]:
    """The embedded SmolLM2 GGUF through transformers (de-quantized to fp32), on the CPU."""
    from promptlab.backends.embedded import embedded_model_path
    from promptlab.backends.hf import HFBackend

    backend = HFBackend(embedded_model_path(), device="cpu")
    rows = hf_overhead_rows(backend, rounds) + hf_samples_rows(backend, rounds) + hf_react_rows(backend, rounds)
    backend.close()
    return rows


ENGINES: dict[str, Callable[[int], list[Row]]] = {"llamacpp": llamacpp_rows, "openai": openai_rows, "hf": hf_rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(ENGINES), help=f"comma-separated engines from {sorted(ENGINES)}")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions per measurement")
    args = parser.parse_args()
    rows: list[Row] = []
    for name in args.only.split(","):
        if name not in ENGINES:
            parser.error(f"unknown engine {name!r}; choose from {sorted(ENGINES)}")
        rows.extend(ENGINES[name](args.rounds))
    print("| engine | measurement | a | b | ratio |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
