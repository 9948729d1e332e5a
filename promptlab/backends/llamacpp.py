"""LlamaCppBackend: any GGUF model through llama-cpp-python (the embedded default).

Decoding runs on :class:`~promptlab.backends._llamacpp_engine.BatchEngine`: the ``n`` samples
of a call, and every call made at the same time from other threads or asyncio tasks, are
decoded together, one ``llama_decode`` per step, in sequences of one unified KV cache. Stop
strings are matched on the decoded text by the shared :mod:`promptlab.stopping` code (so
multi-token stops are found and the stop that fired is reported), and the KV cache of the
longest common token prefix with earlier prompts is kept, so a multi-step agent that resends
a growing prompt, or concurrent questions that share a few-shot preamble, evaluate only the
new tokens. A constraint is applied as an llguidance token mask on each sequence's logits
before sampling (:mod:`promptlab.backends.guidance`).
"""

from __future__ import annotations

import asyncio
import os
import queue
import random
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptlab.backends._gguf import gguf_architecture
from promptlab.backends._llamacpp_engine import BatchEngine, Request, TextSink, TokenMask
from promptlab.backends.base import ALL_KNOBS, Backend, Capabilities, Completion
from promptlab.backends.embedded import embedded_model_path
from promptlab.backends.guidance import TokenMasks
from promptlab.backends.tool_calls import check_tool_format
from promptlab.config import GenerationConfig
from promptlab.constraints import ALL_CONSTRAINT_KINDS
from promptlab.errors import BackendError, ConfigError, ContextLengthError, ModelLoadError, requires

if TYPE_CHECKING:
    from llama_cpp import Llama

__all__ = ["LlamaCppBackend", "default_threads"]

_SEED_SPACE = 2**32
_END = object()


class LlamaCppBackend(Backend):
    """A GGUF model run in process by llama.cpp.

    ``model_path=None`` loads the embedded SmolLM2-135M-Instruct. ``n_threads`` defaults
    to one per physical core (:func:`default_threads`), and prompt evaluation
    (``n_threads_batch``) to the same. ``seed`` is the
    default for calls whose config sets none (None: fresh randomness per call).
    ``chat_template`` overrides the template stored in the GGUF metadata; ``tool_format`` is
    :attr:`Backend.tool_format` (``"json"`` gives a template without tool support JSON tool calls). ``n_seq_max``
    bounds the sequences decoded at once (samples of all concurrent calls together; more
    wait); all of them share the ``n_ctx`` cells of one KV cache. Other keyword arguments
    (``n_gpu_layers``, ``n_batch``, ...) go to ``llama_cpp.Llama``.
    """

    name = "llamacpp"
    capabilities = Capabilities(
        knobs=ALL_KNOBS - {"num_beams"},
        streaming=True,
        prefix_cache=True,
        constraints=ALL_CONSTRAINT_KINDS,
        concurrent=True,
        notes={
            "num_beams": "llama.cpp has no beam search; use the hf backend for beams, "
            "or sample n completions with temperature > 0",
        },
    )

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_threads_batch: int | None = None,
        seed: int | None = None,
        chat_template: str | None = None,
        tool_format: str = "auto",
        n_seq_max: int = 64,
        verbose: bool = False,
        **llama_options: Any,
    ) -> None:
        if not 1 <= n_seq_max <= 256:
            raise ConfigError(f"n_seq_max must be between 1 and 256 (llama.cpp's limit), got {n_seq_max}")
        self.model_path = Path(model_path) if model_path is not None else embedded_model_path()
        threads = n_threads or default_threads()
        self._llm = _load(
            self.model_path,
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=n_threads_batch or threads,
            verbose=verbose,
            n_seq_max=n_seq_max,
            **llama_options,
        )
        self._seed = seed
        self._chat_template = chat_template
        self.tool_format = check_tool_format(tool_format)
        from llama_cpp import llama_vocab_is_eog  # importable: _load succeeded

        model = self._llm._model
        self._is_eog = partial(llama_vocab_is_eog, model.vocab)
        eog = [token for token in range(self._llm.n_vocab()) if self._is_eog(token)]
        self._masks = TokenMasks.for_llamacpp(model.vocab, eog)
        self._bos_id = self._llm.token_bos()
        self._add_bos = self._bos_id != -1 and model.add_bos_token()
        self._special = {
            "bos_token": model.token_get_text(self._bos_id) if self._bos_id != -1 else "",
            "eos_token": model.token_get_text(self._llm.token_eos()) if self._llm.token_eos() != -1 else "",
        }
        self._engine = BatchEngine(self._llm, n_seq_max=n_seq_max, is_eog=self._is_eog)

    # ------------------------------------------------------------------ model facts
    @property
    def n_ctx(self) -> int:
        """The context window in tokens (prompt plus completion)."""
        self._ensure_open()
        return self._llm.n_ctx()

    @property
    def chat_template(self) -> str:
        """The ``chat_template`` override, else ``tokenizer.chat_template`` from the GGUF metadata."""
        template = self._chat_template or self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise BackendError(
                f"{self.model_path.name} has no chat template in its GGUF metadata (a base model?): "
                "pass chat_template=... to LlamaCppBackend, or use generate() with a plain prompt"
            )
        return template

    @property
    def special_tokens(self) -> dict[str, str]:
        return dict(self._special)

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes as a prompt (including a BOS token if the model adds one)."""
        self._ensure_open()
        return len(self._tokenize(text))

    def _close(self) -> None:
        self._engine.close()
        self._llm.close()

    # -------------------------------------------------------------------- decoding
    def _generate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        return self._engine.submit(self._request(prompt, config)).result()

    def _generate_batch(self, prompts: list[str], config: GenerationConfig) -> list[list[Completion]]:
        requests = [self._request(p, config) for p in prompts]  # every prompt checked before any runs
        futures = [self._engine.submit(r) for r in requests]
        return [future.result() for future in futures]

    async def _agenerate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        request = self._request(prompt, config)
        try:
            return await asyncio.wrap_future(self._engine.submit(request))
        except asyncio.CancelledError:
            request.cancel()  # frees its sequences at the engine's next step
            raise

    def _stream(self, prompt: str, config: GenerationConfig) -> Iterator[str]:
        chunks: queue.SimpleQueue[object] = queue.SimpleQueue()
        request = self._request(prompt, config, sink=chunks.put)  # errors surface here, not at the first next()
        self._engine.submit(request).add_done_callback(lambda _: chunks.put(_END))
        return _follow(request, chunks)

    def _request(self, prompt: str, config: GenerationConfig, sink: TextSink | None = None) -> Request:
        tokens = self._prompt_tokens(prompt)
        masks: list[TokenMask | None] = [None] * config.n
        if config.constraint is not None:  # an unusable constraint is refused here, in the caller's thread
            masks = list(self._masks.sequences(config.constraint, config.n))
        return Request(prompt=tokens, config=config, seeds=self._seeds(config),
                       budget=min(config.max_new_tokens, self.n_ctx - len(tokens)), masks=masks, sink=sink)

    # ---------------------------------------------------------------------- helpers
    def _tokenize(self, text: str) -> list[int]:
        add_bos = self._add_bos and not text.startswith(self._special["bos_token"])
        return self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def _prompt_tokens(self, prompt: str) -> list[int]:
        tokens = self._tokenize(prompt)
        if not tokens:
            if self._bos_id == -1:
                raise BackendError("the prompt is empty and this model has no BOS token to start from")
            tokens = [self._bos_id]
        if len(tokens) >= self.n_ctx:
            raise ContextLengthError(
                f"the prompt is {len(tokens)} tokens but the context window holds {self.n_ctx} "
                f"(prompt plus completion): shorten the prompt, or load the model with a larger n_ctx "
                f"(it was trained on {self._llm._model.n_ctx_train()})"
            )
        return tokens

    def _seeds(self, config: GenerationConfig) -> list[int]:
        """One seed per sample: ``seed, seed + 1, ...`` so samples differ yet reproduce."""
        base = config.seed if config.seed is not None else self._seed
        if base is None:
            base = random.SystemRandom().randrange(_SEED_SPACE)
        return [(base + i) % _SEED_SPACE for i in range(config.n)]


def _follow(request: Request, chunks: queue.SimpleQueue[object]) -> Iterator[str]:
    """Yield the request's text as the engine decodes it; closing the stream cancels the request."""
    try:
        while (chunk := chunks.get()) is not _END:
            yield str(chunk)
        request.future.result()  # the request's error, if it failed
    finally:
        request.cancel()


def default_threads() -> int:
    """Half the logical CPUs: one thread per physical core, as llama.cpp's own tools default to.

    llama-cpp-python would run prompt evaluation on every logical CPU; with SMT siblings, or
    other processes on the machine, that oversubscribes the cores and llama.cpp's thread
    barriers stall (seen: a 20-token evaluation taking 6 s instead of 0.16 s on 2 busy vCPUs).
    """
    return max((os.cpu_count() or 2) // 2, 1)


def llama_options() -> Callable[..., Any]:
    """``llama_cpp.Llama``'s constructor: LlamaCppBackend passes the options it does not know on to it."""
    with requires("llamacpp", "the llamacpp backend"):
        from llama_cpp import Llama
    return Llama.__init__


def _load(path: Path, *, n_ctx: int, verbose: bool, n_seq_max: int, **options: Any) -> Llama:
    architecture = gguf_architecture(path)
    with requires("llamacpp", "the llamacpp backend"):
        from llama_cpp import Llama
    try:
        llm = Llama(model_path=str(path), n_ctx=n_ctx, verbose=verbose, **options)
        _use_batched_context(llm, n_seq_max)
        return llm
    except (ValueError, RuntimeError) as exc:
        import llama_cpp

        raise ModelLoadError(
            f"llama.cpp could not load {str(path)!r} (GGUF architecture {architecture!r}): the architecture may be "
            f"unsupported by llama-cpp-python {llama_cpp.__version__} (try upgrading it), or the file is truncated "
            f"or corrupt; load with verbose=True to see llama.cpp's log ({exc})"
        ) from None


def _use_batched_context(llm: Llama, n_seq_max: int) -> None:
    """Give ``llm`` a context of ``n_seq_max`` sequences sharing one KV cache of ``n_ctx`` cells.

    ``Llama`` makes a one-sequence context; the replacement is closed with the model.
    """
    from llama_cpp import _internals

    params = llm.context_params
    params.n_seq_max = n_seq_max
    params.kv_unified = True  # every sequence may use any cell: a shared prompt is stored once
    context = _internals.LlamaContext(model=llm._model, params=params, verbose=llm.verbose)
    llm._ctx.close()  # type: ignore[no-untyped-call]
    llm._ctx = context
