"""The embedding worker: concurrent callers' texts are merged, each caller gets exactly its own rows."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from ingest.embedding import Embedder, EmbedderPool
from ingest.embedding_batcher import BatcherClosed, EmbeddingBatcher, Matrix
from rag.errors import EmbedderUnavailable

TEXTS = [
    "How many days of annual leave do I get?",
    "Passwords must be at least twelve characters long.",
    "Expense claims are submitted within thirty days.",
    "Report a lost laptop to the service desk at once.",
    "Partners get two weeks of paid parental leave.",
    "Remote work abroad needs HR approval.",
]


def test_concurrent_callers_get_their_own_rows_as_the_model_computes_them(embedder: Embedder) -> None:
    batcher = EmbeddingBatcher(embedder.encode_now, max_batch=64)
    view = embedder.batched(batcher)
    asks = [[TEXTS[i % len(TEXTS)], TEXTS[(i * 5 + 1) % len(TEXTS)]] for i in range(24)]
    try:
        with ThreadPoolExecutor(16) as pool:
            got = list(pool.map(view.encode_documents, asks))
    finally:
        batcher.close()
    direct = embedder.encode_now(TEXTS)
    for texts, rows in zip(asks, got, strict=True):
        expected = direct[[TEXTS.index(t) for t in texts]]
        assert rows.shape == (2, embedder.dimension)
        assert np.allclose(rows, expected, atol=1e-5)
    assert 1 <= batcher.batches <= len(asks)


def test_requests_that_wait_together_become_one_model_call_with_duplicates_embedded_once(
    embedder: Embedder,
) -> None:
    started, release = threading.Event(), threading.Event()
    seen: list[list[str]] = []

    def encode(texts: list[str]) -> Matrix:
        seen.append(texts)
        if len(seen) == 1:  # hold the first batch until every other request is queued
            started.set()
            release.wait(30)
        return embedder.encode_now(texts)

    batcher = EmbeddingBatcher(encode, max_batch=64)
    try:
        with ThreadPoolExecutor(8) as pool:
            first = pool.submit(batcher.encode, [TEXTS[0]])
            assert started.wait(30)
            rest = [pool.submit(batcher.encode, [TEXTS[i % 3 + 1]]) for i in range(6)]
            while batcher.queued < 6:  # wait until every request is queued behind the held batch
                time.sleep(0.001)
            release.set()
            results = [first.result(), *(f.result() for f in rest)]
    finally:
        batcher.close()
    assert len(seen) == 2
    assert sorted(seen[1]) == sorted(TEXTS[1:4])  # six requests, three distinct texts, one call
    for i, rows in enumerate(results[1:]):
        assert np.allclose(rows[0], embedder.encode_now([TEXTS[i % 3 + 1]])[0], atol=1e-5)


def test_a_batch_never_exceeds_max_batch_unless_one_request_alone_does(embedder: Embedder) -> None:
    started, release = threading.Event(), threading.Event()
    sizes: list[int] = []

    def encode(texts: list[str]) -> Matrix:
        sizes.append(len(texts))
        if len(sizes) == 1:
            started.set()
            release.wait(30)
        return np.zeros((len(texts), 3), dtype=np.float32)

    batcher = EmbeddingBatcher(encode, max_batch=4)
    try:
        with ThreadPoolExecutor(8) as pool:
            first = pool.submit(batcher.encode, ["a"])
            assert started.wait(30)
            big = pool.submit(batcher.encode, [f"big {i}" for i in range(6)])
            small = [pool.submit(batcher.encode, [f"s{i}", f"t{i}"]) for i in range(3)]
            while batcher.queued < 4:
                time.sleep(0.001)
            release.set()
            assert big.result().shape == (6, 3)
            assert all(f.result().shape == (2, 3) for f in small)
            first.result()
    finally:
        batcher.close()
    assert sizes == [1, 6, 4, 2]


def test_a_model_error_reaches_every_caller_of_that_batch_and_the_worker_goes_on(embedder: Embedder) -> None:
    calls = 0

    def encode(texts: list[str]) -> Matrix:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("model fell over")
        return embedder.encode_now(texts)

    batcher = EmbeddingBatcher(encode)
    try:
        with pytest.raises(RuntimeError, match="model fell over"):
            batcher.encode([TEXTS[0]])
        assert batcher.encode([TEXTS[1]]).shape == (1, embedder.dimension)
    finally:
        batcher.close()


def test_after_close_the_embedder_is_unavailable_with_a_503_code(embedder: Embedder) -> None:
    pool = EmbedderPool(batching=True)
    view = pool.add(embedder)
    assert view.encode_query(TEXTS[0]).shape == (embedder.dimension,)
    pool.close()
    pool.close()  # idempotent
    with pytest.raises(EmbedderUnavailable) as caught:
        view.encode_documents([TEXTS[1]])
    assert isinstance(caught.value, BatcherClosed)
    assert caught.value.code == "embedder_unavailable" and caught.value.status == 503
    with pytest.raises(ValueError, match="nothing to embed"):
        EmbeddingBatcher(embedder.encode_now).encode([])


def test_services_hand_out_the_batched_embedder_and_close_its_worker(services_factory, embedder: Embedder) -> None:  # type: ignore[no-untyped-def]
    services = services_factory(embedding_batching=True)
    assert services.embedder is not embedder
    assert services.embedders.get(embedder.model_id) is services.embedder
    assert np.allclose(services.embedder.encode_query(TEXTS[2]), embedder.encode_query(TEXTS[2]), atol=1e-5)
    services.close()
    with pytest.raises(EmbedderUnavailable):
        services.embedder.encode_query(TEXTS[2])
    unbatched = services_factory(embedding_batching=False)
    assert unbatched.embedder is embedder
