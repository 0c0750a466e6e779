"""``evaluate`` on small built data sets: scores come from the real retrieval path and the metric functions."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from indexes.types import ChunkRecord, SearchHit
from indexes.versions import ResolvedVersion
from rag.evaluation.datasets import EvalDataset, EvalQuery, GoldSpan, load_dataset
from rag.evaluation.metrics import ndcg_at_k, reciprocal_rank_at_k
from rag.evaluation.runner import _judge, evaluate, percentile
from rag.evaluation.session import Run, eval_index_name, plan_runs, prepare_version
from tests.conftest import ServicesFactory
from tests.rag.evaluation.eval_data import write_beir, write_spans


def _hit(chunk_id: str, doc_id: str, start: int, end: int) -> SearchHit:
    record = ChunkRecord(
        chunk_id=chunk_id,
        doc_id=doc_id,
        title="",
        heading_path=[],
        page=None,
        start=start,
        end=end,
        text="x" * (end - start),
        token_count=1,
        content_hash="",
        source=doc_id,
    )
    return SearchHit(chunk=record, score=1.0, similarity=0.5)


def test_spans_judge_chunks_by_overlap_with_gold_spans() -> None:
    ranges = {"d": [("c0", 0, 100), ("c1", 90, 200), ("c2", 200, 300)], "e": [("e0", 0, 50)]}
    query = EvalQuery(id="q", text="?", spans=(GoldSpan("d", 150, 210),))
    data = EvalDataset("x", "spans", [], [query], "0" * 64)
    hits = [_hit("c0", "d", 0, 100), _hit("c2", "d", 200, 300), _hit("e0", "e", 0, 50)]
    ranked, relevant = _judge(query, hits, data, ranges)
    assert ranked == ["c0", "c2", "e0"]
    assert relevant == {"c1", "c2"}  # [150, 210) touches c1 and c2; a range ending at 150 would not count
    edge = EvalQuery(id="q", text="?", spans=(GoldSpan("d", 300, 310), GoldSpan("d", 0, 1)))
    assert _judge(edge, hits, data, ranges)[1] == {"c0"}  # half-open ranges: c2 ends where the span starts


def test_beir_judges_documents_at_their_best_chunk() -> None:
    query = EvalQuery(id="q", text="?", relevant_docs={"b": 2.0, "c": 1.0})
    data = EvalDataset("x", "beir", [], [query], "0" * 64)
    hits = [_hit("1", "a", 0, 1), _hit("2", "b", 0, 1), _hit("3", "a", 1, 2), _hit("4", "c", 0, 1)]
    ranked, relevant = _judge(query, hits, data, {})
    assert ranked == ["a", "b", "c"] and relevant == {"b": 2.0, "c": 1.0}


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 95) == 5.0
    assert percentile(list(map(float, range(101))), 95) == 95.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_beir_evaluation_matches_the_metrics_of_the_real_rankings(
    services_factory: ServicesFactory, tmp_path: Path
) -> None:
    s = services_factory()
    data = load_dataset(write_beir(tmp_path / "mini"))
    version, built = prepare_version(s, data, eval_index_name(data))
    assert built and version.index == "eval-mini" and len(version.manifest.documents) == 3
    result = evaluate(s.assistant.retriever, version, data, refusal_threshold=0.2, keep_per_query=True)
    # recompute from the same retrieval path, query by query
    expected_mrr, expected_ndcg = [], []
    for query in data.queries:
        hits = s.assistant.retriever.search(version, query.text, 200)
        docs = list(dict.fromkeys(h.chunk.doc_id for h in hits))
        expected_mrr.append(reciprocal_rank_at_k(docs, query.relevant_docs, 10))
        expected_ndcg.append(ndcg_at_k(docs, query.relevant_docs, 10))
    assert result.metrics["mrr@10"] == pytest.approx(sum(expected_mrr) / 4, abs=1e-4)
    assert result.metrics["ndcg@10"] == pytest.approx(sum(expected_ndcg) / 4, abs=1e-4)
    assert result.metrics["recall@100"] == 1.0  # three documents: every one is retrieved
    assert result.metrics["recall@1"] >= 0.75  # the questions are about one policy each
    assert result.dataset["queries"] == 4 and len(result.per_query) == 4
    assert result.retrieval["mode"] == "hybrid" and result.latency_ms["p95"] >= result.latency_ms["p50"] > 0
    assert 0.0 <= result.refusal_rate <= 1.0


def test_spans_evaluation_restricts_each_query_to_its_document(
    services_factory: ServicesFactory, tmp_path: Path
) -> None:
    s = services_factory(chunk_max_tokens=24, chunk_overlap_tokens=0)  # several chunks per policy
    data = load_dataset(write_spans(tmp_path / "mini"))
    version, _ = prepare_version(s, data, "eval-mini")
    assert version.manifest.chunk_count > 3
    seen: list[set[str]] = []
    retriever = s.assistant.retriever
    original = retriever.search

    def spy(version: ResolvedVersion, question: str, limit: int, **kw: Any) -> list[SearchHit]:
        hits = original(version, question, limit, **kw)
        seen.append({h.chunk.doc_id for h in hits})
        return hits

    retriever.search = spy  # type: ignore[method-assign]
    result = evaluate(retriever, version, data, refusal_threshold=0.2)
    assert [docs for docs in seen] == [{q.restrict_to} for q in data.queries]
    assert 0.0 < result.metrics["ndcg@10"] <= 1.0 and result.metrics["recall@100"] == 1.0


def test_the_same_data_reuses_the_version_and_changed_data_builds_a_new_one(
    services_factory: ServicesFactory, tmp_path: Path
) -> None:
    s = services_factory()
    folder = write_beir(tmp_path / "mini")
    first, built = prepare_version(s, load_dataset(folder), "eval-mini")
    again, rebuilt = prepare_version(s, load_dataset(folder), "eval-mini")
    assert built and not rebuilt and again.version == first.version
    corpus = folder / "corpus.jsonl"
    corpus.write_text(corpus.read_text().replace("28 days", "30 days"))
    changed, built_again = prepare_version(s, load_dataset(folder), "eval-mini")
    assert built_again and changed.version == first.version + 1
    assert s.registry.live_version("policies") is None  # an evaluation never touches a policy index


def test_compare_runs_settings_and_versions(services_factory: ServicesFactory, tmp_path: Path) -> None:
    s = services_factory()
    data = load_dataset(write_beir(tmp_path / "mini"))
    version, _ = prepare_version(s, data, "eval-mini")
    runs = plan_runs(s, Run(version, s.assistant.retriever), ["mode=dense", "fusion=dbsf,weights=1:2", "eval-mini@1"])
    assert [r.retriever.describe()["mode"] for r in runs] == ["hybrid", "dense", "hybrid", "hybrid"]
    assert runs[2].retriever.describe()["fusion"] == "dbsf" and runs[2].retriever.weights == (1.0, 2.0)
    assert runs[3].version.version == 1


def test_answer_spans_checks_cited_quotes_against_gold_spans(services_factory: ServicesFactory, tmp_path: Path) -> None:
    from rag.evaluation.answers import score_answer_spans

    s = services_factory()
    data = load_dataset(write_spans(tmp_path / "mini"))
    version, _ = prepare_version(s, data, "eval-mini")
    result = score_answer_spans(s.assistant, version, data)
    assert result.queries == 4 and result.refused == 0
    # the extractive answerer quotes whole sentences; each gold answer is part of one sentence
    assert result.span_inside_quote >= 0.75 and result.span_overlaps_quote >= result.span_inside_quote
    # the same spans said to be in another policy than the one each query is restricted to: never cited
    others = {"leave": "travel", "travel": "security", "security": "leave"}
    moved = [
        dataclasses.replace(q, spans=tuple(dataclasses.replace(sp, doc_id=others[sp.doc_id]) for sp in q.spans))
        for q in data.queries
    ]
    none = score_answer_spans(s.assistant, version, dataclasses.replace(data, queries=moved))
    assert none.span_inside_quote == none.span_overlaps_quote == 0.0
    with pytest.raises(ValueError):
        score_answer_spans(s.assistant, version, dataclasses.replace(data, layout="beir"))
