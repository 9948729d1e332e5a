"""BatchEngine: every llama.cpp call of one backend decoded together, continuously batched.

One engine thread owns the llama.cpp context. A request (a prompt, its config, ``n`` samples)
gets a sequence of that context's unified KV cache: its prompt is evaluated once (after the
longest prefix already cached by another sequence, which is copied, not evaluated again),
then each sample branches off it (``llama_memory_seq_cp``) with its own sampler chain,
seeded ``seed + i``, as llama.cpp's ``parallel`` example does. Each step is one
``llama_decode`` holding the next token of every running sample of every request, plus
prompt chunks of requests that joined since the last step. A sample ends on its own stop,
end-of-sequence or token budget; a request whose constraint fails, or that is cancelled,
frees its sequences and leaves the others running.

Cells are reserved before a sample starts (its token budget), so the cache never overflows
mid-generation: what does not fit waits for a running sample to end, and idle cached
prompts are evicted, least recently used first, when room is needed.
"""

from __future__ import annotations

import codecs
import ctypes
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from promptlab.backends._llamacpp_kv import KvBook, common_prefix
from promptlab.backends.base import Completion, FinishReason, Usage
from promptlab.config import GenerationConfig
from promptlab.errors import BackendClosedError, BackendError
from promptlab.stopping import StopMatcher

if TYPE_CHECKING:
    from llama_cpp import Llama

PENALTY_LAST_N = 64
"""Tokens the repetition penalty looks back on: llama-cpp-python's ``last_n_tokens_size`` default."""


class TokenMask(Protocol):
    """One sequence's constraint state (:class:`promptlab.backends.guidance.SequenceMask`)."""

    @property
    def done(self) -> bool: ...

    def apply(self, logits: Any) -> Any: ...

    def advance(self, token: int) -> None: ...


TextSink = Callable[[str], None]


@dataclass
class _Sample:
    index: int
    seed: int
    mask: TokenMask | None
    seq: int = -1
    chain: Any = None
    pending: int | None = None
    """The token sampled last, to be evaluated in the next step."""
    produced: int = 0
    cached: int = 0
    parts: list[str] = field(default_factory=list)
    matcher: StopMatcher = field(default_factory=lambda: StopMatcher(()))
    utf8: codecs.IncrementalDecoder = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")("ignore"))


@dataclass
class Request:
    """One call: ``n`` completions of ``prompt``; its result arrives on ``future``."""

    prompt: list[int]
    config: GenerationConfig
    seeds: list[int]
    budget: int
    masks: list[TokenMask | None]
    sink: TextSink | None = None
    """Receives the emittable text of sample 0 as it is decoded (streaming)."""
    future: Future[list[Completion]] = field(default_factory=Future)
    abandoned: bool = False
    seq: int = -1
    evaluated: int = 0
    """Prompt tokens already in ``seq``."""
    reused: int = 0
    started: float = field(default_factory=time.perf_counter)
    samples: list[_Sample] = field(default_factory=list)
    results: dict[int, Completion] = field(default_factory=dict)

    def cancel(self) -> None:
        """Abandon the request: its sequences are freed at the next step."""
        self.abandoned = True

    @property
    def cancelled(self) -> bool:
        """Abandoned, or its future was cancelled (an awaiting task was)."""
        return self.abandoned or self.future.cancelled()

    @property
    def waiting(self) -> int:
        """Samples not started yet."""
        return len(self.seeds) - len(self.samples)


class BatchEngine:
    """Schedules requests on one llama.cpp context (``n_seq_max`` sequences, unified KV cache)."""

    def __init__(self, llm: Llama, *, n_seq_max: int, is_eog: Callable[[int], bool]) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self._llm = llm
        self._ctx = llm._ctx.ctx
        self._memory = llm._ctx.memory
        self._n_vocab = llm.n_vocab()
        self._is_eog = is_eog
        self._n_batch = llm.n_batch
        self._batch = llama_cpp.llama_batch_init(self._n_batch, 0, 1)
        self._book = KvBook(llm.n_ctx())
        self._free = list(range(n_seq_max - 1, -1, -1))
        self._idle: deque[int] = deque()  # sequences holding a finished request's tokens, oldest first
        self._queue: deque[Request] = deque()
        self._active: list[Request] = []
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- public face
    def submit(self, request: Request) -> Future[list[Completion]]:
        """Queue ``request``; it joins the running batch at the next step."""
        with self._cond:
            if self._closing:
                raise BackendClosedError("the llama.cpp backend is closed: create a new one to make more calls")
            self._queue.append(request)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="promptlab-llamacpp", daemon=True)
                self._thread.start()
            self._cond.notify()
        return request.future

    def close(self) -> None:
        """Fail queued and running requests, stop the engine thread, free the batch."""
        with self._cond:
            self._closing = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()
        self._lib.llama_batch_free(self._batch)

    # ---------------------------------------------------------------- the loop
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closing and not self._queue and not self._active:
                    self._cond.wait()
                if self._closing:
                    break
            try:
                self._step()
            except Exception as exc:  # an engine fault fails every request in flight, not the thread
                for request in [*self._active, *self._queue]:
                    self._fail(request, BackendError(f"llama.cpp decoding failed: {exc}"))
        closed = BackendClosedError("the llama.cpp backend was closed while this call was running")
        with self._cond:
            pending = [*self._active, *self._queue]
            self._queue.clear()
        for request in pending:
            self._fail(request, closed)

    def _step(self) -> None:
        for cancelled in [r for r in self._active if r.cancelled]:
            self._fail(cancelled, None)
        self._admit()
        entries = self._fill_batch()
        if not entries:
            return
        status = self._lib.llama_decode(self._ctx, self._batch)
        if status != 0:
            for owner in {id(owner): owner for owner, _ in entries if owner is not None}.values():
                self._fail(owner, BackendError(f"llama_decode returned {status} (the KV cache is full?)"))
            return
        for index, (request, sample) in enumerate(entries):
            if request is None or request.future.done():
                continue
            try:
                if sample is None:
                    self._start_samples(request, index)
                else:
                    self._advance(request, sample, index)
            except Exception as exc:  # a constraint error, say: this request alone fails
                self._fail(request, exc)
                continue
            if not request.waiting and len(request.results) == len(request.seeds):
                self._finish(request)

    # ---------------------------------------------------------------- admission
    def _reserved(self) -> int:
        """Cells that running work will still need: prompt left to evaluate, samples' remaining budgets."""
        total = 0
        for request in self._active:
            total += len(request.prompt) - request.evaluated
            if not request.samples:
                total += request.budget  # the first sample starts as soon as the prompt is evaluated
            total += sum(request.budget - s.produced for s in request.samples if s.index not in request.results)
        return total

    def _room(self) -> int:
        return self._book.capacity - self._book.used - self._reserved()

    def _admit(self) -> None:
        # Late samples of running requests first: what has started should finish first.
        for request in self._active:
            while request.waiting and request.evaluated == len(request.prompt) and request.samples:
                if not self._make_room(request.budget + 1, protect=request.seq):
                    return
                sample = self._new_sample(request)
                sample.seq = self._take_seq(protect=request.seq)
                self._copy(request.seq, sample.seq, len(request.prompt) - 1)
                sample.cached = len(request.prompt) - 1
        while True:
            with self._cond:
                if not self._queue:
                    return
                request = self._queue[0]
                if request.cancelled:
                    self._queue.popleft()
                    self._fail(request, None)
                    continue
            if not self._place(request):
                return  # first come, first served: later requests wait behind it
            with self._cond:
                self._queue.popleft()
            self._active.append(request)

    def _place(self, request: Request) -> bool:
        """Give ``request`` a sequence holding the longest cached prefix of its prompt; False if no room yet."""
        source, length = self._best_prefix(request.prompt)
        if not self._make_room(len(request.prompt) - length + request.budget, protect=source):
            if source not in self._idle:
                return False  # running requests hold the room: wait for one to end
            source, length = -1, 0  # the cached prefix is not worth the room it holds
            if not self._make_room(len(request.prompt) + request.budget, protect=-1):
                return False
        if source in self._idle:  # take the idle sequence over: drop what follows the common prefix
            self._idle.remove(source)
            if not self._lib.llama_memory_seq_rm(self._memory, source, length, -1):
                length = 0  # a recurrent model cannot drop part of its state
                self._lib.llama_memory_seq_rm(self._memory, source, -1, -1)
            self._book.truncate(source, length)
            request.seq = source
        else:
            request.seq = self._take_seq(protect=source)
            if length:
                self._copy(source, request.seq, length)
        request.evaluated = request.reused = length
        return True

    def _best_prefix(self, prompt: list[int]) -> tuple[int, int]:
        """The sequence sharing the longest prefix with ``prompt`` (never all of it: the last token
        is evaluated again for its logits), and that length; ``(-1, 0)`` if none."""
        best, length = -1, 0
        for seq in [*self._idle, *(r.seq for r in self._active)]:
            shared = common_prefix(self._book.tokens(seq), prompt[:-1])
            if shared > length:
                best, length = seq, shared
        return best, length

    def _make_room(self, cells: int, *, protect: int) -> bool:
        """Evict idle sequences (oldest first, never ``protect``) until ``cells`` and a sequence are free."""
        while self._room() < cells or not self._free:
            victim = next((seq for seq in self._idle if seq != protect), None)
            if victim is None:
                return False
            self._idle.remove(victim)
            self._drop(victim)
        return True

    def _take_seq(self, *, protect: int) -> int:
        if not self._free:
            self._make_room(0, protect=protect)
        return self._free.pop()

    # ---------------------------------------------------------------- the batch
    def _fill_batch(self) -> list[tuple[Request | None, _Sample | None]]:
        """Put every pending token in the batch; returns, per batch row, whose logits it carries."""
        batch = self._batch
        entries: list[tuple[Request | None, _Sample | None]] = []

        def add(token: int, pos: int, seq: int, owner: tuple[Request | None, _Sample | None], logits: bool) -> None:
            row = len(entries)
            batch.token[row] = token
            batch.pos[row] = pos
            batch.n_seq_id[row] = 1
            batch.seq_id[row][0] = seq
            batch.logits[row] = logits
            entries.append(owner if logits else (None, None))

        for request in self._active:
            for sample in request.samples:
                if len(entries) == self._n_batch:
                    break
                if sample.index in request.results:
                    continue
                if sample.pending is not None:
                    position = len(request.prompt) + sample.produced - 1
                    add(sample.pending, position, sample.seq, (request, sample), True)
                    self._book.append(sample.seq, [sample.pending])
                    sample.pending = None
                elif sample.produced == 0 and sample.seq != request.seq and sample.chain is not None \
                        and len(self._book.tokens(sample.seq)) == len(request.prompt) - 1:
                    last = request.prompt[-1]  # a late sample: its own logits for the prompt's last token
                    add(last, len(request.prompt) - 1, sample.seq, (request, sample), True)
                    self._book.append(sample.seq, [last])
        for request in self._active:
            todo = len(request.prompt) - request.evaluated
            room = self._n_batch - len(entries)
            if todo == 0 or room == 0:
                continue
            chunk = request.prompt[request.evaluated: request.evaluated + min(todo, room)]
            for offset, token in enumerate(chunk):
                position = request.evaluated + offset
                add(token, position, request.seq, (request, None), position == len(request.prompt) - 1)
            self._book.append(request.seq, chunk)
            request.evaluated += len(chunk)
        batch.n_tokens = len(entries)
        return entries

    def _start_samples(self, request: Request, row: int) -> None:
        """The prompt is evaluated: start every sample that fits on its last token's logits."""
        first = self._new_sample(request)
        first.seq = request.seq
        first.cached = request.reused
        started = [first]
        while request.waiting and self._make_room(request.budget, protect=request.seq):
            sample = self._new_sample(request)
            sample.seq = self._take_seq(protect=request.seq)
            self._copy(request.seq, sample.seq, len(request.prompt))
            sample.cached = len(request.prompt)
            started.append(sample)
        for sample in started:
            self._advance(request, sample, row)

    def _new_sample(self, request: Request) -> _Sample:
        index = len(request.samples)
        sample = _Sample(index=index, seed=request.seeds[index], mask=request.masks[index])
        sample.matcher = StopMatcher.of(request.config)
        sample.chain = self._sampler_chain(request.config, sample.seed)
        request.samples.append(sample)
        return sample

    # ---------------------------------------------------------------- sampling
    def _advance(self, request: Request, sample: _Sample, row: int) -> None:
        """Sample the next token from batch row ``row``'s logits; end the sample if it is done."""
        lib = self._lib
        if sample.mask is not None:
            logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(self._ctx, row), shape=(self._n_vocab,))
            sample.mask.apply(logits)
        token = lib.llama_sampler_sample(sample.chain, self._ctx, row)
        if self._is_eog(token):
            self._end(request, sample, "eos")
            return
        sample.produced += 1
        if sample.mask is not None:
            sample.mask.advance(token)
        text = sample.matcher.feed(sample.utf8.decode(self._llm.detokenize([token])))
        self._emit(request, sample, text)
        if sample.matcher.stopped:
            self._end(request, sample, "stop")
        elif sample.mask is not None and sample.mask.done:
            self._end(request, sample, "eos")
        elif sample.produced >= request.budget:
            self._end(request, sample, "length")
        else:
            sample.pending = token

    def _emit(self, request: Request, sample: _Sample, text: str) -> None:
        if not text:
            return
        sample.parts.append(text)
        if request.sink is not None and sample.index == 0:
            request.sink(text)

    def _end(self, request: Request, sample: _Sample, finish: FinishReason) -> None:
        if not sample.matcher.stopped:
            tail = sample.matcher.feed(sample.utf8.decode(b"", final=True))
            if sample.matcher.stopped:
                finish = "stop"
            else:
                tail += sample.matcher.flush()
            self._emit(request, sample, tail)
        usage = Usage(prompt_tokens=len(request.prompt), completion_tokens=sample.produced,
                      cached_prompt_tokens=sample.cached)
        request.results[sample.index] = Completion(
            text="".join(sample.parts), finish_reason=finish, stop=sample.matcher.stop, usage=usage,
            latency_s=time.perf_counter() - request.started)
        self._release_sample(request, sample)

    def _release_sample(self, request: Request, sample: _Sample) -> None:
        if sample.chain is not None:
            self._lib.llama_sampler_free(sample.chain)
            sample.chain = None
        if sample.seq not in (-1, request.seq):
            self._drop(sample.seq)
        sample.seq = -1

    def _finish(self, request: Request) -> None:
        self._active.remove(request)
        self._idle.append(request.seq)  # its tokens stay cached for the next prompt that shares them
        if not request.future.done():
            request.future.set_result([request.results[i] for i in range(len(request.seeds))])

    def _fail(self, request: Request, error: BaseException | None) -> None:
        """End ``request`` with ``error`` (None: cancelled) and free every sequence it holds."""
        for sample in request.samples:
            self._release_sample(request, sample)
        if request.seq != -1:
            self._drop(request.seq)
            request.seq = -1
        if request in self._active:
            self._active.remove(request)
        if request.future.done():
            return
        if error is None:
            request.future.cancel()
        else:
            request.future.set_exception(error)

    # ---------------------------------------------------------------- cache ops
    def _copy(self, source: int, target: int, length: int) -> None:
        self._lib.llama_memory_seq_cp(self._memory, source, target, 0, length)
        self._book.copy(source, target, length)

    def _drop(self, seq: int) -> None:
        self._lib.llama_memory_seq_rm(self._memory, seq, -1, -1)
        self._book.truncate(seq, 0)
        self._free.append(seq)

    def _sampler_chain(self, config: GenerationConfig, seed: int) -> Any:
        """The chain ``Llama.generate`` builds (penalties, then greedy or top-k/typical/top-p/min-p/temp/dist)."""
        lib = self._lib
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())

        def add(sampler: Any) -> None:
            lib.llama_sampler_chain_add(chain, sampler)

        add(lib.llama_sampler_init_penalties(self._n_vocab, PENALTY_LAST_N, config.repetition_penalty, 0.0, 0.0))
        if not config.sampling:
            add(lib.llama_sampler_init_greedy())
            return chain
        add(lib.llama_sampler_init_top_k(config.top_k or 0))
        add(lib.llama_sampler_init_typical(1.0, 1))
        add(lib.llama_sampler_init_top_p(config.top_p, 1))
        add(lib.llama_sampler_init_min_p(config.min_p, 1))
        add(lib.llama_sampler_init_temp(config.temperature))
        add(lib.llama_sampler_init_dist(ctypes.c_uint32(seed).value))
        return chain
