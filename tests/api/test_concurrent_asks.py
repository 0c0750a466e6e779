"""Concurrent questions through the model worker: each gets the answer it would get alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.api.conftest import ClientFactory

QUESTIONS = [
    "How many days of annual leave do I get?",
    "How long must my password be?",
    "What is the daily allowance for travel?",
    "Who do I report a security incident to?",
    "How do I submit an expense claim?",
    "What happens if I lose my laptop?",
]


def _essence(body: dict) -> tuple:  # type: ignore[type-arg]
    return (body["answer"], body["refused"], [c["chunk_id"] for c in body["citations"]], body["index"]["version"])


def test_sixteen_concurrent_asks_answer_as_one_at_a_time_with_fewer_model_calls(
    client_factory: ClientFactory,
) -> None:
    client = client_factory(embedding_batching=True, extractive_semantic=True)
    services = client.app.state.services  # type: ignore[attr-defined]
    alone = {}
    for q in QUESTIONS:
        r = client.post("/v1/ask", json={"question": q})
        assert r.status_code == 200, r.text
        alone[q] = _essence(r.json())
    batcher = services.embedders._batchers[0]
    calls_before = batcher.batches
    asked = [QUESTIONS[i % len(QUESTIONS)] for i in range(32)]
    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda q: client.post("/v1/ask", json={"question": q}), asked))
    assert [r.status_code for r in responses] == [200] * len(asked)
    for q, r in zip(asked, responses, strict=True):
        assert _essence(r.json()) == alone[q]
    # each answer needs at least two trips to the model (question, then the semantic step's sentences)
    assert batcher.batches - calls_before < 2 * len(asked)
