"""LlamaCppBackend: any GGUF model through llama-cpp-python (the embedded default).

Decoding runs token by token on ``Llama.generate``: stop strings are matched on the
decoded text by the shared :mod:`promptlab.stopping` code (so multi-token stops are
found and the stop that fired is reported), and the KV cache of the longest common
token prefix with the previous call is kept, so a multi-step agent that resends a
growing prompt evaluates only the new tokens. A constraint is applied as an llguidance
token mask on the logits before sampling (:mod:`promptlab.backends.guidance`).
"""

from __future__ import annotations

import codecs
import os
import random
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptlab.backends._gguf import gguf_architecture
from promptlab.backends.base import ALL_KNOBS, Backend, Capabilities, Completion, FinishReason, Stopwatch, Usage
from promptlab.backends.embedded import embedded_model_path
from promptlab.backends.guidance import SequenceMask, TokenMasks
from promptlab.backends.tool_calls import check_tool_format
from promptlab.config import GenerationConfig
from promptlab.constraints import ALL_CONSTRAINT_KINDS
from promptlab.errors import BackendError, ContextLengthError, ModelLoadError, requires
from promptlab.stopping import StopMatcher

if TYPE_CHECKING:
    from llama_cpp import Llama

__all__ = ["LlamaCppBackend", "default_threads"]

_SEED_SPACE = 2**32


@dataclass(frozen=True)
class _Outcome:
    finish_reason: FinishReason
    stop: str | None
    usage: Usage


class LlamaCppBackend(Backend):
    """A GGUF model run in process by llama.cpp.

    ``model_path=None`` loads the embedded SmolLM2-135M-Instruct. ``n_threads`` defaults
    to one per physical core (:func:`default_threads`), and prompt evaluation
    (``n_threads_batch``) to the same. ``seed`` is the
    default for calls whose config sets none (None: fresh randomness per call).
    ``chat_template`` overrides the template stored in the GGUF metadata; ``tool_format`` is
    :attr:`Backend.tool_format` (``"json"`` gives a template without tool support JSON tool calls). Other
    keyword arguments (``n_gpu_layers``, ``n_batch``, ...) go to ``llama_cpp.Llama``.
    """

    name = "llamacpp"
    capabilities = Capabilities(
        knobs=ALL_KNOBS - {"num_beams"},
        streaming=True,
        prefix_cache=True,
        constraints=ALL_CONSTRAINT_KINDS,
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
        verbose: bool = False,
        **llama_options: Any,
    ) -> None:
        self.model_path = Path(model_path) if model_path is not None else embedded_model_path()
        threads = n_threads or default_threads()
        self._llm = _load(
            self.model_path,
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=n_threads_batch or threads,
            verbose=verbose,
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
        self._llm.close()

    # -------------------------------------------------------------------- decoding
    def _generate(self, prompt: str, config: GenerationConfig) -> list[Completion]:
        tokens = self._prompt_tokens(prompt)
        completions = []
        for seed in self._seeds(config):
            with Stopwatch() as watch:
                pieces = self._decode(tokens, config, seed)
                text, outcome = _drain(pieces)
            completions.append(
                Completion(
                    text=text,
                    finish_reason=outcome.finish_reason,
                    stop=outcome.stop,
                    usage=outcome.usage,
                    latency_s=watch.elapsed,
                )
            )
        return completions

    def _stream(self, prompt: str, config: GenerationConfig) -> Iterator[str]:
        tokens = self._prompt_tokens(prompt)  # errors surface here, not at the first next()
        return _text_only(self._decode(tokens, config, self._seeds(config)[0]))

    def _decode(self, tokens: list[int], config: GenerationConfig, seed: int) -> Generator[str, None, _Outcome]:
        """Yield emittable text; return how generation ended (the base class's CallGate runs one at a time)."""
        llm = self._llm
        budget = min(config.max_new_tokens, self.n_ctx - len(tokens))
        mask = self._masks.sequence(config.constraint) if config.constraint is not None else None
        reused = self._reuse_cached_prefix(tokens)
        llm.set_seed(seed)
        matcher = StopMatcher.of(config)
        utf8 = codecs.getincrementaldecoder("utf-8")(errors="ignore")
        finish: FinishReason = "length"
        produced = 0
        for token in llm.generate(tokens[reused:], reset=False, **_sampling(config), **_masking(mask)):
            if self._is_eog(token):
                finish = "eos"
                break
            produced += 1
            if mask is not None:
                mask.advance(token)
            if text := matcher.feed(utf8.decode(llm.detokenize([token]))):
                yield text
            if matcher.stopped:
                finish = "stop"
                break
            if mask is not None and mask.done:  # the constraint is complete: only end-of-sequence may follow
                finish = "eos"
                break
            if produced >= budget:
                break
        if not matcher.stopped:
            tail = matcher.feed(utf8.decode(b"", final=True))
            if matcher.stopped:
                finish = "stop"
            else:
                tail += matcher.flush()
            if tail:
                yield tail
        usage = Usage(prompt_tokens=len(tokens), completion_tokens=produced, cached_prompt_tokens=reused)
        return _Outcome(finish, matcher.stop, usage)

    def _reuse_cached_prefix(self, tokens: list[int]) -> int:
        """Keep the KV cache of the longest common token prefix; return its length.

        The last prompt token is always evaluated again: its logits start decoding.
        """
        llm = self._llm
        limit = min(llm.n_tokens, len(tokens) - 1)
        reuse = limit
        for index, (cached, wanted) in enumerate(zip(llm.input_ids[:limit].tolist(), tokens, strict=False)):
            if cached != wanted:
                reuse = index
                break
        if reuse < llm.n_tokens and not llm._ctx.kv_cache_seq_rm(-1, reuse, -1):
            reuse = 0  # recurrent models cannot drop part of their state
        if reuse == 0:
            llm.reset()  # type: ignore[no-untyped-call]
        llm.n_tokens = reuse
        return reuse

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


def _sampling(config: GenerationConfig) -> dict[str, Any]:
    """Every sampler knob, explicitly: llama.cpp's own defaults (min_p 0.05, top_k 40) differ from ours,
    so ``min_p`` is the config's (0: off) and ``top_k=None`` turns top-k off."""
    return {
        "temp": config.temperature if config.sampling else 0.0,
        "top_k": config.top_k or 0,
        "top_p": config.top_p,
        "min_p": config.min_p,
        "typical_p": 1.0,
        "repeat_penalty": config.repetition_penalty,
    }


def _masking(mask: SequenceMask | None) -> dict[str, Any]:
    """The logits processor that applies ``mask`` before llama.cpp's samplers (none without a constraint)."""
    if mask is None:
        return {}
    from llama_cpp import LogitsProcessorList

    return {"logits_processor": LogitsProcessorList([lambda _ids, logits: mask.apply(logits)])}


def _drain(pieces: Generator[str, None, _Outcome]) -> tuple[str, _Outcome]:
    chunks = []
    while True:
        try:
            chunks.append(next(pieces))
        except StopIteration as done:
            return "".join(chunks), done.value


def _text_only(pieces: Generator[str, None, _Outcome]) -> Iterator[str]:
    yield from pieces


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


def _load(path: Path, *, n_ctx: int, verbose: bool, **options: Any) -> Llama:
    architecture = gguf_architecture(path)
    with requires("llamacpp", "the llamacpp backend"):
        from llama_cpp import Llama
    try:
        return Llama(model_path=str(path), n_ctx=n_ctx, verbose=verbose, **options)
    except (ValueError, RuntimeError) as exc:
        import llama_cpp

        raise ModelLoadError(
            f"llama.cpp could not load {str(path)!r} (GGUF architecture {architecture!r}): the architecture may be "
            f"unsupported by llama-cpp-python {llama_cpp.__version__} (try upgrading it), or the file is truncated "
            f"or corrupt; load with verbose=True to see llama.cpp's log ({exc})"
        ) from None
