"""From promptlab's GenerationConfig to ``model.generate`` and back to Completions.

Stop strings are matched on decoded text with :func:`promptlab.stopping.find_stop`,
row by row, so each of ``n`` samples stops on its own and a stop split across
several tokens is still found.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from transformers import GenerationConfig as HFGenerationConfig
from transformers import StoppingCriteria

from promptlab.backends.base import Completion, FinishReason, Usage
from promptlab.config import GenerationConfig
from promptlab.stopping import Accept, find_stop


@dataclass(frozen=True)
class SpecialIds:
    """Token ids generation needs: where text ends (eos) and what fills finished rows (pad)."""

    bos: int | None
    eos: frozenset[int]
    pad: int

    def hf_fields(self) -> dict[str, Any]:
        return {"bos_token_id": self.bos, "eos_token_id": sorted(self.eos), "pad_token_id": self.pad}


def special_ids(tokenizer: Any, model_generation_config: Any) -> SpecialIds:
    """Collect eos ids from the tokenizer and the model's generation config (which may list several)."""
    eos: set[int] = set()
    for source in (model_generation_config.eos_token_id, tokenizer.eos_token_id):
        if isinstance(source, int):
            eos.add(source)
        elif isinstance(source, (list, tuple)):
            eos.update(int(i) for i in source)
    pad = tokenizer.pad_token_id
    if pad is None:
        pad = model_generation_config.pad_token_id
    if pad is None:
        pad = min(eos) if eos else 0
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else model_generation_config.bos_token_id
    return SpecialIds(bos=bos, eos=frozenset(eos), pad=int(pad))


def hf_generation_config(config: GenerationConfig, max_new_tokens: int, ids: SpecialIds) -> Any:
    """Every knob that applies spelled out, so no default from a checkpoint's generation_config.json leaks in."""
    sampling = {"temperature": config.temperature, "top_k": config.top_k or 0, "top_p": config.top_p,
                "min_p": config.min_p or None}
    build: Any = HFGenerationConfig
    return build(
        **ids.hf_fields(),
        **(sampling if config.sampling else {}),
        max_new_tokens=max_new_tokens,
        min_new_tokens=0,
        do_sample=config.sampling,
        repetition_penalty=config.repetition_penalty,
        num_beams=config.num_beams,
        num_return_sequences=config.n,
        no_repeat_ngram_size=0,
        length_penalty=1.0,
        early_stopping=False,
        use_cache=True,
    )


def batch_rows(config: GenerationConfig) -> int:
    """Rows decoded side by side: the beams in beam search, else the ``n`` samples."""
    return config.num_beams if config.num_beams > 1 else config.n


@contextmanager
def seeded(seed: int | None, device: torch.device) -> Iterator[None]:
    """Seed torch's RNG for one call, restoring the caller's RNG state afterwards."""
    if seed is None:
        yield
        return
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class RowDecoder:
    """Decodes the generated part of one row: up to (not including) the first eos or pad token."""

    def __init__(self, tokenizer: Any, ids: SpecialIds, prompt_length: int) -> None:
        self._tokenizer = tokenizer
        self._ends = ids.eos | {ids.pad}
        self.prompt_length = prompt_length

    def tokens(self, row: Sequence[int]) -> tuple[list[int], bool]:
        """A full row's generated tokens before any end token, and whether an end token was hit."""
        return self.cut(row[self.prompt_length :])

    def cut(self, generated: Sequence[int]) -> tuple[list[int], bool]:
        """Generated tokens up to the first end token, and whether there was one."""
        for i, token in enumerate(generated):
            if token in self._ends:
                return list(generated[:i]), True
        return list(generated), False

    def text(self, tokens: Sequence[int]) -> str:
        return str(self._tokenizer.decode(tokens, skip_special_tokens=False, clean_up_tokenization_spaces=False))


class StopStringCriteria(StoppingCriteria):
    """Marks each row done once its decoded text contains a stop string (one bool per row)."""

    def __init__(self, decoder: RowDecoder, stops: Sequence[str], accept: Accept | None = None) -> None:
        self._decoder = decoder
        self._stops = tuple(stops)
        self._accept = accept

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        done = []
        for row in input_ids.tolist():
            tokens, _ = self._decoder.tokens(row)
            done.append(find_stop(self._decoder.text(tokens), self._stops, self._accept).stop is not None)
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)  # type: ignore[return-value]


def completions(
    sequences: torch.Tensor,
    decoder: RowDecoder,
    config: GenerationConfig,
    accept: Accept | None = None,
    *,
    cached_prompt_tokens: int,
    latency_s: float,
) -> list[Completion]:
    """One Completion per returned row: stop trimmed and reported, else eos or length."""
    results = []
    for row in sequences.tolist():
        tokens, ended = decoder.tokens(row)
        match = find_stop(decoder.text(tokens), config.stop, accept)
        reason: FinishReason = "stop" if match.stop is not None else ("eos" if ended else "length")
        usage = Usage(
            prompt_tokens=decoder.prompt_length,
            completion_tokens=len(tokens),
            cached_prompt_tokens=cached_prompt_tokens,
        )
        results.append(
            Completion(text=match.text, finish_reason=reason, stop=match.stop, usage=usage, latency_s=latency_s)
        )
    return results
