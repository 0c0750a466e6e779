"""The VectorEngine contract, run unchanged against the Edge engine and the Qdrant server engine."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import qdrant_edge
from qdrant_client import QdrantClient

from indexes.edge_engine import EdgeEngine
from indexes.engine import VectorEngine
from indexes.errors import InvalidInput, VersionExists, VersionNotFound
from indexes.server_engine import QdrantServerEngine
from indexes.types import IndexPoint, SearchHit, SearchQuery
from tests.indexes.conftest import DIM, SqliteAliasStore, make_point, sparse_query, unit

INDEX = "policies"
ZEBRA = 7  # position in the corpus of the only chunk containing "zebra" (doc-b, ordinal 3)


def build(engine: VectorEngine, points: list[IndexPoint], version: int = 1) -> None:
    engine.create_version(INDEX, version, DIM)
    engine.upsert(INDEX, version, points)
    engine.seal(INDEX, version)


def query(
    bm25: qdrant_edge.Bm25,
    dense: list[float] | np.ndarray,
    text: str,
    *,
    mode: str = "hybrid",
    limit: int = 5,
    doc_ids: list[str] | None = None,
) -> SearchQuery:
    return SearchQuery(
        dense=[float(x) for x in dense],
        sparse=sparse_query(bm25, text),
        limit=limit,
        mode=mode,
        prefetch_limit=20,
        rrf_k=60,
        doc_ids=doc_ids,
    )


def ids(hits: list[SearchHit]) -> list[str]:
    return [hit.chunk.chunk_id for hit in hits]


def cosine(a: list[float], b: list[float]) -> float:
    x, y = np.asarray(a), np.asarray(b)
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


def near(point: IndexPoint, seed: int = 0) -> np.ndarray:
    """A query vector much closer to ``point`` than to any other corpus vector."""
    noise = np.random.default_rng(seed).normal(size=DIM) * 0.05
    return np.asarray(point.dense) * 2.0 + noise


# --- storage ---------------------------------------------------------------------------------


def test_create_upsert_count(engine: VectorEngine, corpus: list[IndexPoint]) -> None:
    assert not engine.has_version(INDEX, 1)
    engine.create_version(INDEX, 1, DIM)
    assert engine.has_version(INDEX, 1)
    assert engine.count(INDEX, 1) == 0
    engine.upsert(INDEX, 1, corpus)
    engine.seal(INDEX, 1)
    assert engine.count(INDEX, 1) == len(corpus)
    assert not engine.has_version(INDEX, 2)


def test_upsert_is_idempotent(engine: VectorEngine, corpus: list[IndexPoint]) -> None:
    engine.create_version(INDEX, 1, DIM)
    engine.upsert(INDEX, 1, corpus)
    engine.upsert(INDEX, 1, corpus)
    assert engine.count(INDEX, 1) == len(corpus)

    changed = dataclasses.replace(corpus[0].chunk, text="Rewritten text", title="New title")
    engine.upsert(INDEX, 1, [dataclasses.replace(corpus[0], chunk=changed)])
    assert engine.count(INDEX, 1) == len(corpus)
    stored = {p.chunk.chunk_id: p.chunk for p in engine.iter_points(INDEX, 1)}
    assert stored[changed.chunk_id] == changed


def test_create_version_twice_fails_and_keeps_data(engine: VectorEngine, corpus: list[IndexPoint]) -> None:
    build(engine, corpus)
    with pytest.raises(VersionExists):
        engine.create_version(INDEX, 1, DIM)
    assert engine.count(INDEX, 1) == len(corpus)


@pytest.mark.parametrize(("index", "version"), [("../escape", 1), ("a/b", 1), ("", 1), ("ok", 0), ("ok", -3)])
def test_invalid_index_or_version_is_rejected(engine: VectorEngine, index: str, version: int) -> None:
    with pytest.raises(InvalidInput):
        engine.create_version(index, version, DIM)


def test_upsert_rejects_non_uuid_chunk_ids_before_writing(engine: VectorEngine, corpus: list[IndexPoint]) -> None:
    engine.create_version(INDEX, 1, DIM)
    bad = dataclasses.replace(corpus[-1], chunk=dataclasses.replace(corpus[-1].chunk, chunk_id="chunk-12"))
    with pytest.raises(InvalidInput):
        engine.upsert(INDEX, 1, [*corpus[:-1], bad])
    assert engine.count(INDEX, 1) == 0


def test_iter_points_round_trips_vectors_and_payload(engine: VectorEngine, corpus: list[IndexPoint]) -> None:
    build(engine, corpus)
    stored = {p.chunk.chunk_id: p for p in engine.iter_points(INDEX, 1)}
    assert len(stored) == len(corpus)
    for written in corpus:
        got = stored[written.chunk.chunk_id]
        assert got.chunk == written.chunk  # payload -> ChunkRecord.from_payload round trip
        # Written vectors are unit length; cosine collections store them normalized.
        np.testing.assert_allclose(got.dense, written.dense, atol=1e-6)
        assert dict(zip(got.sparse.indices, got.sparse.values, strict=True)) == pytest.approx(
            dict(zip(written.sparse.indices, written.sparse.values, strict=True))
        )


def test_iter_points_pages_through_many_points(engine: VectorEngine, bm25: qdrant_edge.Bm25) -> None:
    rng = np.random.default_rng(3)
    points = [make_point(bm25, f"doc-{i % 7}", i, f"chunk {i}", unit(rng.normal(size=DIM))) for i in range(600)]
    build(engine, points)
    assert sorted(p.chunk.chunk_id for p in engine.iter_points(INDEX, 1)) == sorted(p.chunk.chunk_id for p in points)


# --- search ----------------------------------------------------------------------------------


def test_dense_search_returns_nearest_first(
    engine: VectorEngine, corpus: list[IndexPoint], bm25: qdrant_edge.Bm25
) -> None:
    build(engine, corpus)
    for target in (0, 5, 9):
        hits = engine.search(INDEX, 1, query(bm25, near(corpus[target]), "", mode="dense", limit=12))
        assert len(hits) == 12
        assert hits[0].chunk.chunk_id == corpus[target].chunk.chunk_id
        expected = sorted(corpus, key=lambda p: -cosine(list(near(corpus[target])), p.dense))
        assert ids(hits) == [p.chunk.chunk_id for p in expected]
        for hit in hits:  # for dense search the score is the cosine similarity itself
            assert hit.score == pytest.approx(hit.similarity, abs=1e-5)


def test_sparse_search_finds_the_rare_word(
    engine: VectorEngine, corpus: list[IndexPoint], bm25: qdrant_edge.Bm25
) -> None:
    build(engine, corpus)
    hits = engine.search(INDEX, 1, query(bm25, near(corpus[0]), "zebra", mode="sparse"))
    assert ids(hits) == [corpus[ZEBRA].chunk.chunk_id]
    assert hits[0].score > 0

    hits = engine.search(INDEX, 1, query(bm25, near(corpus[0]), "passwords", mode="sparse"))
    assert {hit.chunk.text for hit in hits} == {corpus[9].chunk.text, corpus[10].chunk.text}


def test_hybrid_fuses_both_rankings_by_reciprocal_rank(
    engine: VectorEngine, corpus: list[IndexPoint], bm25: qdrant_edge.Bm25
) -> None:
    build(engine, corpus)
    dense = near(corpus[1])
    text = "zebra vacation"
    hybrid = engine.search(INDEX, 1, query(bm25, dense, text, limit=12))
    dense_hits = engine.search(INDEX, 1, query(bm25, dense, text, mode="dense", limit=20))
    sparse_hits = engine.search(INDEX, 1, query(bm25, dense, text, mode="sparse", limit=20))
    # The sparse ranking must be free of ties for the expected ranks to be well defined.
    assert len({round(hit.score, 6) for hit in sparse_hits}) == len(sparse_hits) == 4

    # The union of both rankings; the chunks both rankings found come first, led by the dense
    # winner (also a "vacation" match), and the only "zebra" chunk is among them.
    assert set(ids(hybrid)) == set(ids(dense_hits)) | set(ids(sparse_hits))
    assert set(ids(hybrid[:4])) == set(ids(sparse_hits))
    assert hybrid[0].chunk.chunk_id == corpus[1].chunk.chunk_id == dense_hits[0].chunk.chunk_id
    assert sparse_hits[0].chunk.chunk_id == corpus[ZEBRA].chunk.chunk_id

    # RRF with 0-based ranks: score = sum over rankings of 1 / (k + rank).
    expected: dict[str, float] = {}
    for ranking in (dense_hits, sparse_hits):
        for rank, hit in enumerate(ranking):
            expected[hit.chunk.chunk_id] = expected.get(hit.chunk.chunk_id, 0.0) + 1 / (60 + rank)
    assert {hit.chunk.chunk_id: hit.score for hit in hybrid} == pytest.approx(expected, rel=1e-5)
    assert [hit.score for hit in hybrid] == sorted((hit.score for hit in hybrid), reverse=True)


def test_weighted_rrf_scales_each_ranking_by_its_weight(
    engine: VectorEngine, corpus: list[IndexPoint], bm25: qdrant_edge.Bm25
) -> None:
    build(engine, corpus)
    dense = near(corpus[1])
    text = "zebra vacation"
    dense_hits = engine.search(INDEX, 1, query(bm25, dense, text, mode="dense", limit=20))
    sparse_hits = engine.search(INDEX, 1, query(bm25, dense, text, mode="sparse", limit=20))
    for weights in ((1.0, 3.0), (2.0, 0.5)):
        q = dataclasses.replace(query(bm25, dense, text, limit=12), weights=weights)
        hybrid = engine.search(INDEX, 1, q)
        expected: dict[str, float] = {}
        for weight, ranking in zip(weights, (dense_hits, sparse_hits), strict=True):
            for rank, hit in enumerate(ranking):
                # Qdrant's weighted RRF: 1 / ((rank + 1) / weight + k - 1), 1 / (k + rank) at weight 1
                term = 1 / ((rank + 1) / weight + 60 - 1)
                expected[hit.chunk.chunk_id] = expected.get(hit.chunk.chunk_id, 0.0) + term
        assert {hit.chunk.chunk_id: hit.score for hit in hybrid} == pytest.approx(expected, rel=1e-5)


def test_dbsf_fuses_normalized_scores(engine: VectorEngine, corpus: list[IndexPoint], bm25: qdrant_edge.Bm25) -> None:
    build(engine, corpus)
    dense = near(corpus[1])
    text = "zebra vacation"
    fused = engine.search(INDEX, 1, dataclasses.replace(query(bm25, dense, text, limit=12), fusion="dbsf"))
    dense_hits = engine.search(INDEX, 1, query(bm25, dense, text, mode="dense", limit=20))
    sparse_hits = engine.search(INDEX, 1, query(bm25, dense, text, mode="sparse", limit=20))

    def normalized(hits: list[SearchHit]) -> dict[str, float]:
        scores = np.asarray([h.score for h in hits], dtype=np.float64)
        mean, std = scores.mean(), scores.std(ddof=1)
        lo, hi = mean - 3 * std, mean + 3 * std
        return {h.chunk.chunk_id: (h.score - lo) / (hi - lo) for h in hits}

    expected: dict[str, float] = {}
    for ranking in (dense_hits, sparse_hits):
        for chunk_id, score in normalized(ranking).items():
            expected[chunk_id] = expected.get(chunk_id, 0.0) + score
    assert set(ids(fused)) == set(expected)
    assert {h.chunk.chunk_id: h.score for h in fused} == pytest.approx(expected, rel=1e-3, abs=1e-4)


@pytest.mark.parametrize("change", [{"fusion": "max"}, {"weights": (0.0, 0.0)}, {"weights": (-1.0, 1.0)}])
def test_bad_fusion_settings_are_rejected(
    engine: VectorEngine, corpus: list[IndexPoint], bm25: qdrant_edge.Bm25, change: dict[str, object]
) -> None:
    build(engine, corpus)
    with pytest.raises(InvalidInput):
        engine.search(INDEX, 1, dataclasses.replace(query(bm25, near(corpus[0]), "vacation"), **change))  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "sparse"])
def test_doc_filter_excludes_other_documents(
    engine: VectorEngine, corpus: list[IndexPoint], bm25: qdrant_edge.Bm25, mode: str
) -> None:
    build(engine, corpus)
    # The dense query points at doc-a and the text matches all three documents.
    q = query(bm25, near(corpus[0]), "zebra vacation passwords", mode=mode, limit=12, doc_ids=["doc-c"])
    hits = engine.search(INDEX, 1, q)
    assert hits
    assert {hit.chunk.doc_id for hit in hits} == {"doc-c"}
    two = engine.search(INDEX, 1, dataclasses.replace(q, doc_ids=["doc-b", "doc-c"]))
    assert {hit.chunk.doc_id for hit in two} == {"doc-b", "doc-c"}
    assert engine.search(INDEX, 1, dataclasses.replace(q, doc_ids=[])) == []
    assert engine.search(INDEX, 1, dataclasses.replace(q, doc_ids=["no-such-doc"])) == []


@pytest.mark.parametrize("mode", ["hybrid", "dense", "sparse"])
def test_similarity_is_the_dense_cosine(
    engine: VectorEngine, corpus: list[IndexPoint], bm25: qdrant_edge.Bm25, mode: str
) -> None:
    build(engine, corpus)
    by_id = {p.chunk.chunk_id: p for p in corpus}
    dense = list(np.random.default_rng(11).normal(size=DIM) * 3.0)  # deliberately not unit length
    hits = engine.search(INDEX, 1, query(bm25, dense, "vacation passwords zebra", mode=mode, limit=12))
    assert hits
    for hit in hits:
        assert hit.similarity == pytest.approx(cosine(dense, by_id[hit.chunk.chunk_id].dense), abs=1e-5)


def test_limit_and_invalid_queries(engine: VectorEngine, corpus: list[IndexPoint], bm25: qdrant_edge.Bm25) -> None:
    build(engine, corpus)
    assert len(engine.search(INDEX, 1, query(bm25, near(corpus[0]), "vacation", limit=3))) == 3
    with pytest.raises(InvalidInput):
        engine.search(INDEX, 1, query(bm25, near(corpus[0]), "vacation", mode="keyword"))
    with pytest.raises(InvalidInput):
        engine.search(INDEX, 1, query(bm25, near(corpus[0]), "vacation", limit=0))


def test_search_reads_exactly_the_version_given(
    engine: VectorEngine, corpus: list[IndexPoint], bm25: qdrant_edge.Bm25
) -> None:
    build(engine, corpus[:6], version=1)
    build(engine, corpus[6:], version=2)
    q = query(bm25, near(corpus[0]), "zebra vacation", limit=12)
    assert set(ids(engine.search(INDEX, 1, q))) <= {p.chunk.chunk_id for p in corpus[:6]}
    assert set(ids(engine.search(INDEX, 2, q))) <= {p.chunk.chunk_id for p in corpus[6:]}


# --- aliases and lifecycle -------------------------------------------------------------------


def test_aliases_switch_atomically_between_versions(engine: VectorEngine, corpus: list[IndexPoint]) -> None:
    assert engine.resolve_alias("live") is None
    build(engine, corpus, version=1)
    engine.set_alias("live", INDEX, 1)
    assert engine.resolve_alias("live") == (INDEX, 1)

    build(engine, corpus[:4], version=2)
    engine.set_alias("live", INDEX, 2)
    assert engine.resolve_alias("live") == (INDEX, 2)
    engine.set_alias("previous", INDEX, 1)
    assert engine.resolve_alias("previous") == (INDEX, 1)
    assert engine.resolve_alias("live") == (INDEX, 2)
    assert engine.resolve_alias("unknown") is None


def test_alias_to_missing_version_fails_and_keeps_target(engine: VectorEngine, corpus: list[IndexPoint]) -> None:
    build(engine, corpus)
    engine.set_alias("live", INDEX, 1)
    with pytest.raises(VersionNotFound):
        engine.set_alias("live", INDEX, 9)
    assert engine.resolve_alias("live") == (INDEX, 1)


def test_drop_version_removes_it(engine: VectorEngine, corpus: list[IndexPoint], bm25: qdrant_edge.Bm25) -> None:
    build(engine, corpus, version=1)
    build(engine, corpus[:3], version=2)
    engine.set_alias("live", INDEX, 1)

    engine.drop_version(INDEX, 1)
    assert not engine.has_version(INDEX, 1)
    with pytest.raises(VersionNotFound):
        engine.search(INDEX, 1, query(bm25, near(corpus[0]), "vacation"))
    with pytest.raises(VersionNotFound):
        engine.count(INDEX, 1)
    with pytest.raises(VersionNotFound):
        engine.iter_points(INDEX, 1)
    with pytest.raises(VersionNotFound):
        engine.upsert(INDEX, 1, corpus[:1])
    assert engine.resolve_alias("live") is None  # an alias does not outlive its version
    engine.drop_version(INDEX, 1)  # dropping again is a no-op

    assert engine.count(INDEX, 2) == 3  # other versions are untouched
    engine.create_version(INDEX, 1, DIM)  # the slot can be built again, empty
    assert engine.count(INDEX, 1) == 0


def test_missing_version_is_reported_clearly(engine: VectorEngine, bm25: qdrant_edge.Bm25) -> None:
    with pytest.raises(VersionNotFound, match="version 4"):
        engine.search(INDEX, 4, query(bm25, [1.0] * DIM, "vacation"))
    with pytest.raises(VersionNotFound):
        engine.seal(INDEX, 4)
    engine.drop_version(INDEX, 4)


def test_labelled_aliases_live_beside_the_plain_one(engine: VectorEngine, corpus: list[IndexPoint]) -> None:
    build(engine, corpus, version=1)
    build(engine, corpus[:4], version=2)
    engine.set_alias(INDEX, INDEX, 1)
    engine.set_alias(f"{INDEX}:canary", INDEX, 2)
    assert engine.resolve_alias(INDEX) == (INDEX, 1)
    assert engine.resolve_alias(f"{INDEX}:canary") == (INDEX, 2)

    engine.delete_alias(f"{INDEX}:canary")
    assert engine.resolve_alias(f"{INDEX}:canary") is None
    assert engine.resolve_alias(INDEX) == (INDEX, 1)  # deleting one alias leaves the others
    engine.delete_alias(f"{INDEX}:canary")  # deleting a missing alias is a no-op

    engine.set_alias(f"{INDEX}:canary", INDEX, 2)
    engine.drop_version(INDEX, 2)
    assert engine.resolve_alias(f"{INDEX}:canary") is None  # it does not outlive its version


@pytest.mark.parametrize("alias", ["", "Policies", "a.b", "a:b:c", "x:", ":x", "a/b", "a:B"])
def test_invalid_alias_names_are_rejected(engine: VectorEngine, corpus: list[IndexPoint], alias: str) -> None:
    build(engine, corpus)
    with pytest.raises(InvalidInput):
        engine.set_alias(alias, INDEX, 1)
    with pytest.raises(InvalidInput):
        engine.resolve_alias(alias)
    with pytest.raises(InvalidInput):
        engine.delete_alias(alias)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "sparse"])
def test_delete_documents_removes_exactly_their_chunks(
    engine: VectorEngine, corpus: list[IndexPoint], bm25: qdrant_edge.Bm25, mode: str
) -> None:
    build(engine, corpus)
    doc_b = [p for p in corpus if p.chunk.doc_id == "doc-b"]
    q = query(bm25, near(corpus[ZEBRA]), "zebra expense receipts travel vacation passwords", mode=mode, limit=12)
    assert "doc-b" in {hit.chunk.doc_id for hit in engine.search(INDEX, 1, q)}

    assert engine.delete_documents(INDEX, 1, ["doc-b"]) == len(doc_b) == 4
    assert engine.count(INDEX, 1) == len(corpus) - 4
    hits = engine.search(INDEX, 1, q)
    assert hits  # the other documents are still found
    assert "doc-b" not in {hit.chunk.doc_id for hit in hits}
    assert engine.search(INDEX, 1, dataclasses.replace(q, doc_ids=["doc-b"])) == []
    stored = {p.chunk.chunk_id: p.chunk for p in engine.iter_points(INDEX, 1)}
    assert stored == {p.chunk.chunk_id: p.chunk for p in corpus if p.chunk.doc_id != "doc-b"}

    assert engine.delete_documents(INDEX, 1, ["doc-b"]) == 0  # already gone
    assert engine.delete_documents(INDEX, 1, ["no-such-doc"]) == 0
    assert engine.delete_documents(INDEX, 1, []) == 0
    assert engine.delete_documents(INDEX, 1, ["doc-a", "doc-c"]) == 8
    assert engine.count(INDEX, 1) == 0


def test_delete_documents_touches_only_the_version_given(engine: VectorEngine, corpus: list[IndexPoint]) -> None:
    build(engine, corpus, version=1)
    build(engine, corpus, version=2)
    assert engine.delete_documents(INDEX, 2, ["doc-a"]) == 4
    assert engine.count(INDEX, 1) == len(corpus)
    assert engine.count(INDEX, 2) == len(corpus) - 4


def test_delete_documents_rejects_bad_input_and_missing_versions(
    engine: VectorEngine, corpus: list[IndexPoint]
) -> None:
    build(engine, corpus)
    with pytest.raises(InvalidInput):
        engine.delete_documents(INDEX, 1, "doc-a")
    with pytest.raises(InvalidInput):
        engine.delete_documents(INDEX, 1, [""])
    with pytest.raises(VersionNotFound):
        engine.delete_documents(INDEX, 9, ["doc-a"])
    assert engine.count(INDEX, 1) == len(corpus)


# --- both engines agree ----------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")
def test_engines_return_the_same_hits_and_scores(
    make_edge: Callable[[], EdgeEngine],
    qdrant_client: QdrantClient,
    corpus: list[IndexPoint],
    bm25: qdrant_edge.Bm25,
) -> None:
    edge, server = make_edge(), QdrantServerEngine(qdrant_client)
    build(edge, corpus)
    build(server, corpus)
    for seed, (mode, text, doc_ids) in enumerate(
        [
            ("hybrid", "vacation days", None),
            ("hybrid", "zebra crossing travel", ["doc-a", "doc-b"]),
            ("hybrid", "passwords vacation travel", None),
            ("dense", "", None),
            ("sparse", "passwords vacation travel", None),
            ("sparse", "days", ["doc-c"]),
        ]
    ):
        dense = np.random.default_rng(seed).normal(size=DIM)
        q = query(bm25, dense, text, mode=mode, limit=8, doc_ids=doc_ids)
        # Points tied inside one ranking are ordered differently by the two engines, which
        # changes their fused scores; the queries are chosen so that no ranking has ties.
        sparse_scores = [h.score for h in edge.search(INDEX, 1, dataclasses.replace(q, mode="sparse"))]
        assert len(set(sparse_scores)) == len(sparse_scores), text
        a, b = edge.search(INDEX, 1, q), server.search(INDEX, 1, q)
        assert ids(a) == ids(b), (mode, text)
        assert [h.score for h in a] == pytest.approx([h.score for h in b], rel=1e-4)
        assert [h.similarity for h in a] == pytest.approx([h.similarity for h in b], abs=1e-5)


# --- Edge only -------------------------------------------------------------------------------


def test_edge_data_and_aliases_survive_reopening(
    make_edge: Callable[[], EdgeEngine], corpus: list[IndexPoint], bm25: qdrant_edge.Bm25
) -> None:
    first = make_edge()
    build(first, corpus)
    first.set_alias("live", INDEX, 1)
    q = query(bm25, near(corpus[2]), "zebra vacation", limit=8)
    before = first.search(INDEX, 1, q)
    first.close()

    second = make_edge()
    assert second.resolve_alias("live") == (INDEX, 1)
    assert second.count(INDEX, 1) == len(corpus)
    assert second.search(INDEX, 1, q) == before
    with pytest.raises(VersionExists):
        second.create_version(INDEX, 1, DIM)


def test_edge_unsealed_writes_survive_reopening(make_edge: Callable[[], EdgeEngine], corpus: list[IndexPoint]) -> None:
    first = make_edge()
    first.create_version(INDEX, 1, DIM)
    first.upsert(INDEX, 1, corpus)
    first.close()
    assert make_edge().count(INDEX, 1) == len(corpus)


def test_edge_version_directory_layout(tmp_path: Path, alias_store: SqliteAliasStore) -> None:
    engine = EdgeEngine(tmp_path, alias_store)
    try:
        engine.create_version(INDEX, 3, DIM)
        assert engine.version_path(INDEX, 3) == tmp_path / INDEX / "v0003"
        assert (tmp_path / INDEX / "v0003").is_dir()
        engine.drop_version(INDEX, 3)
        assert not (tmp_path / INDEX).exists()
    finally:
        engine.close()


def test_edge_concurrent_searches_match_sequential(make_edge: Callable[[], EdgeEngine], bm25: qdrant_edge.Bm25) -> None:
    rng = np.random.default_rng(5)
    words = ["vacation", "expense", "travel", "laptop", "password", "visitor", "holiday", "receipt"]
    words += ["claim", "policy", "zebra"]
    points = [
        make_point(bm25, f"doc-{i % 9}", i, " ".join(rng.choice(words, size=12)), unit(rng.normal(size=DIM)))
        for i in range(2000)
    ]
    engine = make_edge()
    build(engine, points)
    modes = ("hybrid", "dense", "sparse")
    queries = [
        query(
            bm25,
            rng.normal(size=DIM),
            " ".join(rng.choice(words, size=3)),
            mode=modes[i % 3],
            limit=10,
            doc_ids=None if i % 4 else [f"doc-{i % 9}", f"doc-{(i + 1) % 9}"],
        )
        for i in range(50)
    ]
    sequential = [engine.search(INDEX, 1, q) for q in queries]
    assert all(sequential)

    start = threading.Barrier(4)
    results: dict[int, list[list[SearchHit]]] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            start.wait()
            results[n] = [engine.search(INDEX, 1, q) for q in queries]
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 4
    for got in results.values():
        assert got == sequential


def test_edge_searches_survive_close_and_see_drop(
    make_edge: Callable[[], EdgeEngine], corpus: list[IndexPoint], bm25: qdrant_edge.Bm25
) -> None:
    engine = make_edge()
    build(engine, corpus)
    q = query(bm25, near(corpus[3]), "vacation zebra", limit=6)
    expected = engine.search(INDEX, 1, q)
    outcomes: list[object] = []
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                outcomes.append("same" if engine.search(INDEX, 1, q) == expected else "different")
            except VersionNotFound:
                outcomes.append("gone")
            except BaseException as exc:  # reported by the main thread
                outcomes.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    engine.close()  # searches reopen the shard
    time.sleep(0.05)
    engine.drop_version(INDEX, 1)  # searches now fail cleanly
    time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    assert set(outcomes) == {"same", "gone"}
    assert outcomes[-1] == "gone"


# --- server only -----------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")
def test_server_spells_the_alias_colon_as_a_dot(qdrant_client: QdrantClient, corpus: list[IndexPoint]) -> None:
    server = QdrantServerEngine(qdrant_client, prefix="t_")
    build(server, corpus)
    server.set_alias(f"{INDEX}:canary", INDEX, 1)
    names = {a.alias_name: a.collection_name for a in qdrant_client.get_aliases().aliases}
    assert names == {f"t_{INDEX}.canary": f"t_{INDEX}__v0001"}
    assert server.resolve_alias(f"{INDEX}:canary") == (INDEX, 1)
    server.delete_alias(f"{INDEX}:canary")
    assert qdrant_client.get_aliases().aliases == []


# --- access groups ----------------------------------------------------------------------------

_GROUPS = {"doc-a": ["everyone"], "doc-b": ["hr"], "doc-c": ["finance", "hr"]}


@pytest.mark.parametrize("mode", ["hybrid", "dense", "sparse"])
def test_groups_filter_runs_inside_the_query(
    engine: VectorEngine, corpus: list[IndexPoint], bm25: qdrant_edge.Bm25, mode: str
) -> None:
    points = [
        dataclasses.replace(p, chunk=dataclasses.replace(p.chunk, groups=_GROUPS[p.chunk.doc_id])) for p in corpus
    ]
    build(engine, points)
    # The dense query points straight at the zebra chunk of doc-b (hr only) and the text names it.
    q = query(bm25, near(points[ZEBRA]), "zebra vacation passwords", mode=mode, limit=12)
    everyone = engine.search(INDEX, 1, dataclasses.replace(q, groups=["everyone"]))
    assert everyone and {h.chunk.doc_id for h in everyone} == {"doc-a"}
    assert all(h.chunk.groups == ["everyone"] for h in everyone)
    finance = engine.search(INDEX, 1, dataclasses.replace(q, groups=["everyone", "finance"]))
    assert {h.chunk.doc_id for h in finance} == {"doc-a", "doc-c"}
    hr = engine.search(INDEX, 1, dataclasses.replace(q, groups=["hr"]))
    assert {h.chunk.doc_id for h in hr} == {"doc-b", "doc-c"}
    assert hr[0].chunk.chunk_id == points[ZEBRA].chunk.chunk_id or mode == "sparse"
    assert engine.search(INDEX, 1, dataclasses.replace(q, groups=[])) == []
    assert engine.search(INDEX, 1, dataclasses.replace(q, groups=["legal"])) == []
    # Both filters at once: a document of the caller's groups, and only that document.
    both = engine.search(INDEX, 1, dataclasses.replace(q, groups=["hr"], doc_ids=["doc-c", "doc-a"]))
    assert {h.chunk.doc_id for h in both} == {"doc-c"}
    # Without groups nothing is filtered: the fused hybrid limit returns all three documents.
    assert {h.chunk.doc_id for h in engine.search(INDEX, 1, q)} == {"doc-a", "doc-b", "doc-c"}


def test_groups_filter_keeps_the_limit_after_filtering(
    engine: VectorEngine, corpus: list[IndexPoint], bm25: qdrant_edge.Bm25
) -> None:
    """A filter inside the query fills ``limit`` from allowed chunks (a post-filter would come up short)."""
    points = [
        dataclasses.replace(p, chunk=dataclasses.replace(p.chunk, groups=_GROUPS[p.chunk.doc_id])) for p in corpus
    ]
    build(engine, points)
    # Prefetches of 2: a post-filter over the 2 nearest (doc-b) would leave nothing for "everyone".
    q = dataclasses.replace(
        query(bm25, near(points[ZEBRA]), "zebra crossing", mode="hybrid", limit=3),
        prefetch_limit=2,
        groups=["everyone"],
    )
    hits = engine.search(INDEX, 1, q)
    assert len(hits) == 2 and {h.chunk.doc_id for h in hits} == {"doc-a"}
