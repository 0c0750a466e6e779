"""Vector storage settings (int8 quantization, vectors on disk) reach the Edge engine, and searches stay right."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import qdrant_edge
from qdrant_client import QdrantClient, models

from indexes.catalog import Catalog
from indexes.edge_engine import EdgeEngine
from indexes.server_engine import QdrantServerEngine
from indexes.types import IndexPoint, SearchQuery
from indexes.vector_storage import VectorStorage
from rag.registry import build_engine
from rag.settings import Settings
from tests.indexes.conftest import _LOCAL_MODE_WARNING, DIM, SqliteAliasStore, sparse_query

INDEX = "policies"


def _config(engine: EdgeEngine, version: int = 1) -> dict[str, object]:
    dense = json.loads((engine.version_path(INDEX, version) / "edge_config.json").read_text())["vectors"]["dense"]
    assert isinstance(dense, dict)
    return dense


def _build(engine: EdgeEngine, corpus: list[IndexPoint], version: int = 1) -> None:
    engine.create_version(INDEX, version, DIM)
    engine.upsert(INDEX, version, corpus)
    engine.seal(INDEX, version)


def test_settings_reach_the_engine_and_each_version_keeps_its_storage(tmp_path: Path, corpus: list[IndexPoint]) -> None:
    catalog = Catalog.from_url("sqlite://")
    settings = Settings(_env_file=None, data_dir=tmp_path, vector_quantization="int8", vectors_on_disk=True)
    engine = build_engine(settings, catalog)
    assert isinstance(engine, EdgeEngine)
    try:
        _build(engine, corpus)
        plain = build_engine(Settings(_env_file=None, data_dir=tmp_path), catalog)
        assert isinstance(plain, EdgeEngine)
        _build(plain, corpus, version=2)
        plain.close()
    finally:
        engine.close()
        catalog.close()
    quantized = _config(engine, 1)
    assert quantized["quantization_config"] == {"scalar": {"type": "int8", "quantile": 0.99, "memory": "pinned"}}
    assert quantized["memory"] == "cold"
    default = _config(engine, 2)
    assert "quantization_config" not in default and "memory" not in default
    # reopening a quantized version with an engine configured otherwise keeps what it was built with
    reopened = EdgeEngine(tmp_path / "shards", SqliteAliasStore(tmp_path / "aliases.sqlite3"))
    try:
        assert reopened.count(INDEX, 1) == len(corpus)
    finally:
        reopened.close()
    assert _config(reopened, 1) == quantized


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_quantized_on_disk_version_answers_as_the_default_one(
    tmp_path: Path, corpus: list[IndexPoint], bm25: qdrant_edge.Bm25, mode: str
) -> None:
    aliases = SqliteAliasStore(tmp_path / "aliases.sqlite3")
    default = EdgeEngine(tmp_path / "default", aliases)
    quantized = EdgeEngine(tmp_path / "int8", aliases, storage=VectorStorage("int8", on_disk=True))
    rng = np.random.default_rng(11)
    try:
        _build(default, corpus)
        _build(quantized, corpus)
        for text in ["vacation days carry over", "expense receipts", "lost passwords", "zebra crossing"]:
            dense = rng.normal(size=DIM)
            query = SearchQuery(
                dense=[float(x) for x in dense / np.linalg.norm(dense)],
                sparse=sparse_query(bm25, text),
                limit=5,
                mode=mode,
                prefetch_limit=10,
                rrf_k=60,
                groups=None,
            )
            want = default.search(INDEX, 1, query)
            got = quantized.search(INDEX, 1, query)
            assert [h.chunk.chunk_id for h in got] == [h.chunk.chunk_id for h in want]
            assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-5)
            assert [h.similarity for h in got] == pytest.approx([h.similarity for h in want], abs=1e-5)
    finally:
        default.close()
        quantized.close()


@pytest.mark.filterwarnings(_LOCAL_MODE_WARNING)
@pytest.mark.filterwarnings("ignore:Local mode performs exact:UserWarning")
def test_server_engine_creates_quantized_on_disk_collections(corpus: list[IndexPoint], bm25: qdrant_edge.Bm25) -> None:
    client = QdrantClient(":memory:")
    engine = QdrantServerEngine(client, prefix="t_", storage=VectorStorage("int8", on_disk=True))
    try:
        engine.create_version(INDEX, 1, DIM)
        engine.upsert(INDEX, 1, corpus)
        engine.seal(INDEX, 1)
        params = client.get_collection(engine.collection_name(INDEX, 1)).config.params.vectors
        assert isinstance(params, dict)
        dense = params["dense"]
        assert dense.on_disk is True
        assert isinstance(dense.quantization_config, models.ScalarQuantization)
        assert dense.quantization_config.scalar.type == models.ScalarType.INT8
        query = SearchQuery(
            dense=corpus[7].dense,
            sparse=sparse_query(bm25, "zebra"),
            limit=3,
            mode="dense",
            prefetch_limit=10,
            rrf_k=60,
        )
        assert engine.search(INDEX, 1, query)[0].chunk.chunk_id == corpus[7].chunk.chunk_id
    finally:
        engine.close()
