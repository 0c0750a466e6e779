"""One model worker per embedder: concurrent callers' texts are merged into micro-batches.

Under concurrent questions every request thread used to call the model itself: N threads, each
running torch with its own intra-op threads on 2 cores, fighting for the cores and the GIL. An
:class:`EmbeddingBatcher` owns the only thread that runs the model. Callers hand it their texts
and wait; whatever arrived while the model was busy becomes the next batch (no timer, no added
wait when the model is idle), identical texts in a batch are embedded once, and each caller gets
exactly its own rows back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from rag.errors import EmbedderUnavailable

__all__ = ["BatcherClosed", "EmbeddingBatcher"]

Matrix = npt.NDArray[np.float32]


class BatcherClosed(EmbedderUnavailable):
    """The embedder's model worker was stopped (the process is shutting down): 503 ``embedder_unavailable``."""


@dataclass
class _Request:
    texts: list[str]
    done: Future[Matrix] = field(default_factory=Future)


class EmbeddingBatcher:
    """Runs ``encode`` on one worker thread, merging the texts of requests that wait together.

    Guarantees: ``encode(texts)`` returns what ``encode`` on the wrapped function would return for
    those texts, row for row; a failure of the model is raised in every caller of that batch; at
    most one thread runs the model at a time; a batch holds at most ``max_batch`` texts unless one
    request alone is larger (it is then embedded on its own, still in order).
    """

    def __init__(self, encode: Callable[[list[str]], Matrix], max_batch: int = 64, name: str = "embedder") -> None:
        self._encode = encode
        self._max_batch = max(1, max_batch)
        self._pending: list[_Request] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"{name}-batcher", daemon=True)
        self._thread.start()
        self.batches = 0
        """How many model calls the worker made (for tests and metrics)."""

    def encode(self, texts: list[str]) -> Matrix:
        """Embed ``texts`` (at least one) on the worker; blocks until their rows are ready.

        Raises what the model raised, or ``BatcherClosed`` after :meth:`close`.
        """
        if not texts:
            raise ValueError("nothing to embed")
        request = _Request(list(texts))
        with self._cond:
            if self._closed:
                raise BatcherClosed("the embedding worker is stopped")
            self._pending.append(request)
            self._cond.notify()
        return request.done.result()

    @property
    def queued(self) -> int:
        """How many requests wait for the worker (not counting the batch it is running)."""
        with self._cond:
            return len(self._pending)

    def close(self) -> None:
        """Stop the worker after the batches already queued; later calls raise ``BatcherClosed`` (idempotent)."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=60)

    def _take(self) -> list[_Request] | None:
        """The next batch: queued requests in arrival order up to ``max_batch`` texts (at least one)."""
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if not self._pending:
                return None
            taken = [self._pending.pop(0)]
            size = len(taken[0].texts)
            while self._pending and size + len(self._pending[0].texts) <= self._max_batch:
                size += len(self._pending[0].texts)
                taken.append(self._pending.pop(0))
            return taken

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            unique = list(dict.fromkeys(t for r in batch for t in r.texts))
            try:
                rows = self._encode(unique)
            except BaseException as exc:  # handed to every waiting caller, the worker goes on
                for r in batch:
                    r.done.set_exception(exc)
                continue
            self.batches += 1
            where = {t: i for i, t in enumerate(unique)}
            for r in batch:
                r.done.set_result(rows[[where[t] for t in r.texts]])
