"""The transformers backend: local model directories and GGUF files through ``model.generate``.

Honours every knob (beam search and ``n`` samples included), exact stop strings,
bitsandbytes / GPTQ quantization on CUDA, LoRA adapters chosen per call, and reuses
the KV cache of the common prompt prefix between calls.

``n`` samples (and beams) cost one prompt encoding: the prompt, less its last token,
is run once at batch size one, its cache is repeated for every row, and the rows
decode as one batch. (``num_return_sequences`` alone encodes the prompt ``n`` times.)
With one row, ``generate`` encodes whatever the cached prefix does not cover.

A constraint is applied to every row (samples and beams) by a logits processor
(:mod:`promptlab.backends._hf_constraints`) that runs before temperature, top-k and top-p.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from transformers import DynamicCache, LogitsProcessorList, StoppingCriteriaList

from promptlab.backends._hf_adapters import AdapterSet
from promptlab.backends._hf_batching import MAX_BATCH, Job, MicroBatcher
from promptlab.backends._hf_cache import PrefixCache, common_prefix_length, truncate
from promptlab.backends._hf_constraints import ConstraintLogits
from promptlab.backends._hf_decoding import (
    RowDecoder,
    StopStringCriteria,
    batch_rows,
    completions,
    hf_generation_config,
    seeded,
    special_ids,
)
from promptlab.backends._hf_loading import (
    check_gguf,
    load_model,
    load_tokenizer,
    quantization_config,
    resolve_device,
    resolve_dtype,
    resolve_source,
)
from promptlab.backends._hf_streaming import Cancelled, TokenQueue, stream_text
from promptlab.backends.base import ALL_KNOBS, Backend, Capabilities, Completion, Stopwatch, WrappingBackend
from promptlab.backends.guidance import TokenMasks
from promptlab.backends.tool_calls import check_tool_format
from promptlab.config import GenerationConfig
from promptlab.constraints import ALL_CONSTRAINT_KINDS
from promptlab.errors import (
    BackendError,
    ConfigError,
    ContextLengthError,
    PromptlabError,
    UnsupportedKnobError,
)
from promptlab.stopping import StopMatcher, stop_acceptor

__all__ = ["HFBackend"]


SHARED_PREFIX_MIN_TOKENS = 16
"""A batch of calls encodes the prompt prefix they share once when it is at least this long."""


class HFBackend(Backend):
    """A causal LM run by transformers.

    Args:
        path: a model directory, or a ``.gguf`` file (transformers de-quantizes it).
        gguf_file: the GGUF file's name inside ``path`` (when ``path`` is its directory).
        device: ``"auto"`` (CUDA if present, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        dtype: ``"float32"``, ``"bfloat16"``, ``"float16"``, ``"auto"``; default float32 on CPU,
            the checkpoint's own dtype on a GPU.
        quantization: ``"nf4"`` or ``"int8"`` (bitsandbytes, CUDA only). GPTQ checkpoints are
            recognised from their config.json and need no option (CUDA only too).
        adapters: LoRA/PEFT adapters to attach, ``{name: directory}``.
        adapter: the adapter plain calls use (None: the base model); see :meth:`with_adapter`.
        trust_remote_code: allow a checkpoint's own Python code (off by default).
        prefix_cache: reuse the KV cache of the common prompt prefix between calls.
        tool_format: how ``chat(tools=...)`` reaches the model (:attr:`Backend.tool_format`).
        batch_calls: decode calls that arrive together (threads, asyncio tasks, ``eval --concurrency``)
            as one batch. None: on a GPU, not on the CPU, where a batch runs until its longest row ends
            and measured slower or no faster than one call at a time (BENCHMARKS.md, eval_throughput).
    """

    name = "hf"
    capabilities = Capabilities(
        knobs=ALL_KNOBS, streaming=True, prefix_cache=True, constraints=ALL_CONSTRAINT_KINDS, concurrent=True
    )

    def __init__(
        self,
        path: str | Path,
        *,
        gguf_file: str | None = None,
        device: str = "auto",
        dtype: str | torch.dtype | None = None,
        quantization: str | None = None,
        adapters: Mapping[str, str | Path] | None = None,
        adapter: str | None = None,
        trust_remote_code: bool = False,
        prefix_cache: bool = True,
        tool_format: str = "auto",
        batch_calls: bool | None = None,
    ) -> None:
        self.tool_format = check_tool_format(tool_format)
        source = resolve_source(path, gguf_file)
        self.device = resolve_device(device)
        quantized = quantization_config(quantization, source, self.device)
        check_gguf(source)
        self.source = source
        self._tokenizer = load_tokenizer(source, trust_remote_code=trust_remote_code)
        self._model = load_model(
            source,
            device=self.device,
            dtype=resolve_dtype(dtype, self.device),
            quantization=quantized,
            trust_remote_code=trust_remote_code,
        )
        self._adapters = AdapterSet(self._model, adapters)
        self.default_adapter = self._adapters.check(adapter)
        self._ids = special_ids(self._tokenizer, self._model.generation_config)
        self._masks = TokenMasks.for_hf(self._tokenizer, self._ids.eos)
        self._cache_kw = "cache" if "cache" in inspect.signature(self._model.forward).parameters else "past_key_values"
        self._prefix = PrefixCache(self._model.config, enabled=prefix_cache)
        self._lock = threading.RLock()
        batching = batch_calls if batch_calls is not None else self.device.type != "cpu"
        self._batcher = MicroBatcher(self._generate_alone, self._generate_together,
                                     max_batch=MAX_BATCH if batching else 1)
        self.context_length = _context_length(self._model.config, self._tokenizer)

    # ---------------------------------------------------------------- model facts
    @property
    def model(self) -> Any:
        """The underlying ``transformers`` model (for inspection; generation goes through the backend)."""
        self._ensure_open()
        return self._model

    @property
    def tokenizer(self) -> Any:
        """The underlying ``transformers`` tokenizer."""
        return self._tokenizer

    @property
    def chat_template(self) -> str:
        template = self._tokenizer.chat_template
        if isinstance(template, dict):
            template = template.get("default")
        return template if isinstance(template, str) and template else super().chat_template

    @property
    def special_tokens(self) -> dict[str, str]:
        tokens = {"bos_token": self._tokenizer.bos_token, "eos_token": self._tokenizer.eos_token}
        return {name: str(value) for name, value in tokens.items() if value is not None}

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` costs as a prompt (including a BOS token the tokenizer adds)."""
        self._ensure_open()
        return len(self._tokenize(text))

    # ------------------------------------------------------------------- adapters
    @property
    def adapters(self) -> tuple[str, ...]:
        """Names of the attached LoRA/PEFT adapters."""
        return self._adapters.names

    def with_adapter(self, adapter: str | None) -> Backend:
        """A backend that answers with ``adapter`` active (None: the base model), sharing this model.

        Runners take any Backend, so this is how one picks an adapter per call site:
        ``CoTRunner(backend.with_adapter("math"))``. Switching is cheap (no weights are copied).
        """
        return _AdapterView(self, self._adapters.check(adapter))

    # ------------------------------------------------------------------ generation
    def _generate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        return self.generate_with_adapter(prompt, config, self.default_adapter)

    def _stream(self, prompt: str, config: GenerationConfig) -> Iterator[str]:
        return self.stream_with_adapter(prompt, config, self.default_adapter)

    def generate_with_adapter(self, prompt: str, config: GenerationConfig, adapter: str | None) -> list[Completion]:
        """``config.n`` completions of ``prompt`` with ``adapter`` active (config already validated).

        Calls made at the same time from other threads or tasks are decoded in one batch with it.
        """
        return self._batcher.run(self._job(prompt, config, adapter))

    async def _agenerate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        job = self._job(prompt, config, self.default_adapter)
        try:
            return await asyncio.to_thread(self._batcher.run, job)
        except asyncio.CancelledError:
            job.future.cancel()  # dropped if its batch has not started
            raise

    def _job(self, prompt: str, config: GenerationConfig, adapter: str | None) -> Job:
        tokens = self._encode(prompt)
        return Job(tokens=tokens, config=config, adapter=adapter, budget=self._token_budget(tokens, config))

    def _generate_alone(self, job: Job) -> list[Completion]:
        tokens, config = job.tokens, job.config
        decoder = RowDecoder(self._tokenizer, self._ids, len(tokens))
        accept = stop_acceptor(config)
        criteria = [StopStringCriteria(decoder, config.stop, accept)] if config.stop else []
        with self._lock, Stopwatch() as watch:
            sequences, reused = self._decode(tokens, config, job.budget, job.adapter, criteria)
        return completions(
            sequences, decoder, config, accept, cached_prompt_tokens=reused, latency_s=watch.elapsed
        )

    def _generate_together(self, jobs: list[Job]) -> list[list[Completion]]:
        """One greedy or sampled row per job in one ``generate``.

        The prompt prefix the jobs share (a few-shot preamble) is encoded once, from the prefix
        cache, and copied to every row; each row's own suffix follows it, padded on the left of
        the suffix (masked out; positions count only real tokens). Without a shared prefix
        worth it, the rows are left-padded whole.
        """
        config = jobs[0].config
        shared = min(min(common_prefix_length(jobs[0].tokens, job.tokens) for job in jobs),
                     min(len(job.tokens) for job in jobs) - 1)
        if not self._prefix.shareable or shared < SHARED_PREFIX_MIN_TOKENS:
            shared = 0
        prefix = jobs[0].tokens[:shared]
        width = shared + max(len(job.tokens) - shared for job in jobs)
        pad = self._ids.pad
        rows = [prefix + [pad] * (width - len(job.tokens)) + job.tokens[shared:] for job in jobs]
        mask = [[1] * shared + [0] * (width - len(job.tokens)) + [1] * (len(job.tokens) - shared) for job in jobs]
        decoder = RowDecoder(self._tokenizer, self._ids, width)
        accept = stop_acceptor(config)
        criteria = [StopStringCriteria(decoder, config.stop, accept)] if config.stop else []
        with self._lock, Stopwatch() as watch, torch.inference_mode():
            self._adapters.activate(jobs[0].adapter)
            cache, reused = self._shared_prefix(prefix, len(jobs), jobs[0].adapter)
            with seeded(config.seed, self.device):
                sequences = self._model.generate(
                    torch.tensor(rows, device=self.device),
                    attention_mask=torch.tensor(mask, device=self.device),
                    generation_config=hf_generation_config(config, config.max_new_tokens, self._ids),
                    stopping_criteria=StoppingCriteriaList(criteria),
                    **({self._cache_kw: cache} if cache is not None else {}),
                )
            if cache is not None:  # every row starts with the prefix: keep it for the next call
                truncate(cache, shared)
                cache.batch_select_indices(torch.tensor([0], device=self.device))
                self._prefix.keep(cache, prefix, key=jobs[0].adapter)
        found = completions(sequences, decoder, config, accept, cached_prompt_tokens=reused, latency_s=watch.elapsed)
        return [[c.model_copy(update={"usage": c.usage.model_copy(update={"prompt_tokens": len(job.tokens)})})]
                for c, job in zip(found, jobs, strict=True)]

    def _shared_prefix(self, prefix: list[int], rows: int, adapter: str | None) -> tuple[DynamicCache | None, int]:
        """A cache holding ``prefix`` for each of ``rows`` rows (None without a prefix), and how much of it
        came from the prefix cache."""
        if not prefix:
            return None, 0
        cache, reused = self._prefix.take([*prefix, -1], key=adapter)  # -1: never a token, so all of prefix may match
        self._prefill(cache, prefix[reused:])
        cache.batch_repeat_interleave(rows)
        return cache, reused

    def stream_with_adapter(self, prompt: str, config: GenerationConfig, adapter: str | None) -> Iterator[str]:
        """Text chunks of one completion as they are decoded; text that may become a stop is held back."""
        if config.num_beams > 1:
            raise UnsupportedKnobError(self.name, "num_beams", "beam search cannot stream; use generate()")
        tokens = self._encode(prompt)
        budget = self._token_budget(tokens, config)
        decoder = RowDecoder(self._tokenizer, self._ids, len(tokens))

        def run(streamer: TokenQueue, cancel: Cancelled) -> None:
            with self._lock:
                self._decode(tokens, config, budget, adapter, [cancel], streamer)

        return stream_text(run, decoder, StopMatcher.of(config))

    def _token_budget(self, tokens: list[int], config: GenerationConfig) -> int:
        """How many tokens may be generated: ``max_new_tokens``, cut to what the context window has left."""
        if self.context_length is None:
            return config.max_new_tokens
        if len(tokens) >= self.context_length:
            raise ContextLengthError(
                f"the prompt is {len(tokens)} tokens but the model's context window is {self.context_length}: "
                "shorten the prompt"
            )
        return min(config.max_new_tokens, self.context_length - len(tokens))

    def _decode(
        self,
        tokens: list[int],
        config: GenerationConfig,
        max_new_tokens: int,
        adapter: str | None,
        criteria: list[Any],
        streamer: TokenQueue | None = None,
    ) -> tuple[torch.Tensor, int]:
        """Run ``generate`` from the cached prefix; the output rows and how many prompt tokens were reused.

        A failure inside torch or transformers (out of memory, a device error) is a :class:`BackendError`.
        """
        try:
            return self._run_generate(tokens, config, max_new_tokens, adapter, criteria, streamer)
        except PromptlabError:
            raise
        except (RuntimeError, ValueError, IndexError) as exc:
            self._prefix.clear()  # the cache may hold half of a failed step
            first_line = (str(exc).strip().splitlines() or [""])[0]
            raise BackendError(f"transformers failed while generating: {type(exc).__name__}: {first_line}") from exc

    def _run_generate(
        self,
        tokens: list[int],
        config: GenerationConfig,
        max_new_tokens: int,
        adapter: str | None,
        criteria: list[Any],
        streamer: TokenQueue | None,
    ) -> tuple[torch.Tensor, int]:
        with torch.inference_mode():
            self._adapters.activate(adapter)
            cache, reused = self._prefix.take(tokens, key=adapter)
            rows = batch_rows(config)
            if rows > 1:  # encode the prompt once at batch size one, then copy its cache to every row
                self._prefill(cache, tokens[reused:-1])
                cache.batch_repeat_interleave(rows)
            with seeded(config.seed, self.device):
                sequences = self._model.generate(
                    torch.tensor([tokens], device=self.device),
                    generation_config=hf_generation_config(config, max_new_tokens, self._ids),
                    logits_processor=self._processors(config, len(tokens)),
                    stopping_criteria=StoppingCriteriaList(criteria),
                    streamer=streamer,
                    **{self._cache_kw: cache},
                )
            self._keep(cache, sequences, tokens, beams=config.num_beams > 1, adapter=adapter)
        return sequences, reused

    def _processors(self, config: GenerationConfig, prompt_length: int) -> LogitsProcessorList:
        if config.constraint is None:
            return LogitsProcessorList()
        ends = self._ids.eos | {self._ids.pad}
        return LogitsProcessorList([ConstraintLogits(self._masks, config.constraint, prompt_length, ends)])

    def _tokenize(self, text: str) -> list[int]:
        # A prompt rendered from a chat template may already start with the BOS text.
        bos = self._tokenizer.bos_token
        add_special = not (bos and text.startswith(bos))
        return list(self._tokenizer(text, add_special_tokens=add_special)["input_ids"])

    def _encode(self, prompt: str) -> list[int]:
        tokens = self._tokenize(prompt)
        if not tokens:
            if self._ids.bos is None:
                raise ConfigError("the prompt is empty and this model has no BOS token to start from")
            tokens = [self._ids.bos]
        return tokens

    def _prefill(self, cache: DynamicCache, tokens: list[int]) -> None:
        """Encode ``tokens`` into ``cache`` at batch size one (logits only for the last position)."""
        if tokens:
            self._model(
                input_ids=torch.tensor([tokens], device=self.device),
                use_cache=True,
                logits_to_keep=1,
                **{self._cache_kw: cache},
            )

    def _keep(
        self, cache: DynamicCache, sequences: torch.Tensor, tokens: list[int], *, beams: bool, adapter: str | None
    ) -> None:
        """Keep row 0 of the cache for the next call: prompt and generated tokens (prompt only after beams)."""
        if not self._prefix.enabled or cache.get_seq_length() == 0:
            return
        if beams:  # beam rows were reordered: only the shared prompt is known to match row 0
            truncate(cache, len(tokens))
        if sequences.shape[0] > 1 or beams:
            cache.batch_select_indices(torch.tensor([0], device=self.device))
        length = cache.get_seq_length()
        self._prefix.keep(cache, sequences[0, :length].tolist(), key=adapter)

    def clear_cache(self) -> None:
        """Forget the cached prompt prefix."""
        with self._lock:
            self._prefix.clear()

    def _close(self) -> None:
        """Drop the model, its adapters and cache, and hand freed CUDA memory back to the driver."""
        with self._lock:  # a batch in flight finishes first
            self._prefix.clear()
            del self._model, self._adapters
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


class _AdapterView(WrappingBackend):
    """The same HFBackend, answering with one adapter active."""

    name = "hf"

    def __init__(self, backend: HFBackend, adapter: str | None) -> None:
        super().__init__(backend)
        self.backend = backend
        self.adapter = adapter

    def _generate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        return self.backend.generate_with_adapter(prompt, config, self.adapter)

    def _stream(self, prompt: str, config: GenerationConfig) -> Iterator[str]:
        return self.backend.stream_with_adapter(prompt, config, self.adapter)


def _context_length(model_config: Any, tokenizer: Any) -> int | None:
    """The model's context window: max_position_embeddings, else the tokenizer's model_max_length."""
    text_config = model_config.get_text_config() if hasattr(model_config, "get_text_config") else model_config
    for value in (getattr(text_config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)):
        if isinstance(value, int) and 0 < value < 10**7:
            return value
    return None
