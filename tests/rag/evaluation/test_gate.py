"""The gate's scoring and decision with a scripted retriever: exact values, no live version, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from indexes.manifest import ChunkerSpec, DocumentEntry, EmbedderSpec, Manifest, SparseSpec
from indexes.refs import IndexRef
from indexes.types import ChunkRecord, SearchHit
from indexes.versions import ResolvedVersion
from rag.errors import IndexNotFound, VersionNotFound
from rag.evaluation.gate import (
    GateEvaluation,
    GateScores,
    decide,
    evaluate_version,
    gate_evaluation,
)
from rag.evaluation.golden import GoldenQuestion, GoldenSet

DOCS = ["a.md", "b.md", "c.md", "d.md"]


def manifest(version: int, docs: list[str] = DOCS, index: str = "policies") -> Manifest:
    return Manifest(
        index=index,
        version=version,
        engine="fake",
        source="src",
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
        embedder=EmbedderSpec(model_id="fake", dimension=3, max_seq_length=16),
        sparse=SparseSpec(k=1.2, b=0.75, avg_len=10.0),
        chunker=ChunkerSpec(max_tokens=16, overlap_tokens=0, embed_headings=False),
        documents=[
            DocumentEntry(
                doc_id=d.upper().removesuffix(".MD"),
                title=d,
                source=d,
                format="md",
                content_hash="h",
                chunk_count=1,
                chars=1,
            )
            for d in docs
        ],
        chunk_count=len(docs),
        chunks_embedded=len(docs),
    )


def resolved(version: int, docs: list[str] = DOCS) -> ResolvedVersion:
    return ResolvedVersion("policies", "policies", version, manifest(version, docs))


def hit(source: str, ordinal: int = 0) -> SearchHit:
    chunk = ChunkRecord(
        chunk_id=f"{source}:{ordinal}",
        doc_id=source.upper().removesuffix(".MD"),
        title=source,
        heading_path=[],
        page=None,
        start=0,
        end=1,
        text="x",
        token_count=1,
        content_hash="h",
        source=source,
        ordinal=ordinal,
    )
    return SearchHit(chunk=chunk, score=1.0, similarity=0.5)


class ScriptedRetriever:
    """Returns scripted chunk sources per (version, question), and records every call."""

    mode = "hybrid"

    def __init__(self, script: dict[int, dict[str, list[str]]]) -> None:
        self.script = script
        self.calls: list[tuple[int, str, int, str | None]] = []

    def search(
        self,
        version: ResolvedVersion,
        question: str,
        limit: int,
        *,
        doc_ids: list[str] | None = None,
        mode: str | None = None,
    ) -> list[SearchHit]:
        self.calls.append((version.version, question, limit, mode))
        return [hit(s, i) for i, s in enumerate(self.script[version.version][question][:limit])]


class Registry:
    """A live alias on ``live`` (or none), and a canary on ``canary`` that unpinned references would draw."""

    def __init__(self, live: ResolvedVersion | None, canary: ResolvedVersion | None = None) -> None:
        self.live = live
        self.canary = canary

    def live_version(self, index: str) -> int | None:
        assert index == "policies"
        return self.live.version if self.live else None

    def resolve(self, ref: IndexRef) -> ResolvedVersion:
        assert ref.name == "policies"
        if ref.version is None:
            if self.canary is not None:
                return self.canary
            if self.live is None:
                raise VersionNotFound("index 'policies' has no promoted version yet")
            return self.live
        if self.live is None or ref.version != self.live.version:
            raise VersionNotFound(f"index 'policies' has no version {ref.version}")
        return self.live


QUESTIONS = (
    GoldenQuestion(id="q1", question="one", doc_ids=("a.md",)),
    GoldenQuestion(id="q2", question="two", doc_ids=("b.md", "c.md")),
    GoldenQuestion(id="q3", question="three", doc_ids=("d.md",)),
)
GOLDEN = GoldenSet(name="golden.jsonl", sha256="0" * 64, questions=QUESTIONS)

# Version 1: q1 at document rank 1, q2 finds b at rank 2 (chunks of a repeat), q3 never found.
GOOD = {
    "one": ["a.md", "a.md", "b.md"],
    "two": ["a.md", "a.md", "a.md", "b.md", "d.md", "a.md", "x.md", "y.md", "z.md", "c.md"],
    "three": ["a.md", "b.md"],
}
# Version 2: q1 drops to document rank 2; q2 loses b; q3 the same.
WORSE = {
    "one": ["b.md", "a.md"],
    "two": ["a.md", "d.md"],
    "three": ["a.md", "b.md"],
}


def test_scores_are_exact_document_level_means() -> None:
    retriever = ScriptedRetriever({1: GOOD})
    scores = evaluate_version(retriever, resolved(1), GOLDEN)
    # Documents per question: [a, b]; [a, b, d, x, y, z, c]; [a, b].
    # recall@5: q1 1, q2 1/2 (b in the top 5 documents, c is 7th), q3 0.
    assert scores.recall == pytest.approx((1 + 0.5 + 0) / 3)
    # MRR@10: q1 1, q2 1/2, q3 0.
    assert scores.mrr == pytest.approx((1 + 0.5 + 0) / 3)
    assert scores.hit_rate == pytest.approx(2 / 3)
    assert scores.misses == ["q3"]
    assert scores.missing_documents == []
    assert (scores.questions, scores.k_recall, scores.k_mrr, scores.limit) == (3, 5, 10, 10)
    assert (scores.match, scores.retrieval_mode) == ("source", "hybrid")
    assert {call[2] for call in retriever.calls} == {10}
    assert {call[3] for call in retriever.calls} == {"hybrid"}


def test_cut_offs_set_the_retrieval_limit() -> None:
    retriever = ScriptedRetriever({1: GOOD})
    scores = evaluate_version(retriever, resolved(1), GOLDEN, k_recall=1, k_mrr=3)
    assert scores.limit == 3
    assert scores.recall == pytest.approx(1 / 3)  # only q1 has a relevant document first
    assert {call[2] for call in retriever.calls} == {3}
    with pytest.raises(ValueError, match="cut-offs"):
        evaluate_version(retriever, resolved(1), GOLDEN, k_recall=0)


def test_match_by_doc_id() -> None:
    by_id = [
        GoldenQuestion(id=q.id, question=q.question, doc_ids=tuple(d.upper()[:-3] for d in q.doc_ids))
        for q in QUESTIONS
    ]
    retriever = ScriptedRetriever({1: GOOD})
    by_source = evaluate_version(retriever, resolved(1), GOLDEN)
    scores = evaluate_version(retriever, resolved(1), by_id, match="doc_id")
    assert scores.match == "doc_id"
    assert (scores.recall, scores.mrr, scores.missing_documents) == (by_source.recall, by_source.mrr, [])
    # Matching doc ids against sources finds nothing and says which documents are missing.
    wrong = evaluate_version(retriever, resolved(1), by_id)
    assert wrong.recall == 0.0
    assert wrong.missing_documents == ["A", "B", "C", "D"]


def test_no_questions() -> None:
    with pytest.raises(ValueError, match="without questions"):
        evaluate_version(ScriptedRetriever({}), resolved(1), [])


def scores(recall: float, mrr: float, **changes: object) -> GateScores:
    values: dict[str, object] = {
        "questions": 20,
        "match": "source",
        "retrieval_mode": "hybrid",
        "limit": 10,
        "k_recall": 5,
        "recall": recall,
        "k_mrr": 10,
        "mrr": mrr,
        "hit_rate": recall,
        "ndcg": mrr,
    }
    values.update(changes)
    return GateScores.model_validate(values)


class TestDecide:
    def test_no_live_version_passes(self) -> None:
        decision = decide(scores(0.1, 0.1), None, 0.02)
        assert decision.passed
        assert decision.reasons == ["no live version to compare with: the gate passes"]

    def test_a_drop_beyond_tolerance_fails_naming_the_metric(self) -> None:
        decision = decide(scores(0.90, 0.80), scores(0.95, 0.80), 0.02)
        assert not decision.passed
        assert decision.reasons == [
            "recall@5 0.950 -> 0.900 dropped 0.050 > tolerance 0.02",
            "MRR@10 0.800 -> 0.800, no drop",
        ]

    def test_mrr_is_gated_too(self) -> None:
        decision = decide(scores(0.95, 0.70), scores(0.95, 0.80), 0.02)
        assert not decision.passed
        assert decision.reasons[1] == "MRR@10 0.800 -> 0.700 dropped 0.100 > tolerance 0.02"

    def test_a_drop_of_exactly_the_tolerance_passes(self) -> None:
        # 0.95 - 0.93 is 0.020000000000000018 in floats; the gate must not trip on that noise.
        decision = decide(scores(0.93, 0.8), scores(0.95, 0.8), 0.02)
        assert decision.passed
        assert decision.reasons[0] == "recall@5 0.950 -> 0.930 dropped 0.020, within tolerance 0.02"

    def test_improvements_pass(self) -> None:
        decision = decide(scores(1.0, 0.9), scores(0.95, 0.8), 0.0)
        assert decision.passed
        assert decision.reasons == ["recall@5 0.950 -> 1.000, no drop", "MRR@10 0.800 -> 0.900, no drop"]

    def test_zero_tolerance_fails_any_drop(self) -> None:
        assert not decide(scores(0.95, 0.8), scores(1.0, 0.8), 0.0).passed

    def test_missing_documents_are_reported(self) -> None:
        decision = decide(scores(0.9, 0.8, missing_documents=["b.md"]), None, 0.02)
        assert decision.passed
        assert decision.reasons[1] == "1 golden document(s) are not in the new version: b.md"

    def test_bad_tolerance(self) -> None:
        with pytest.raises(ValueError, match="tolerance"):
            decide(scores(0.9, 0.8), None, -0.01)
        with pytest.raises(ValueError, match="tolerance"):
            decide(scores(0.9, 0.8), None, float("nan"))

    @pytest.mark.parametrize("change", [{"k_recall": 3}, {"questions": 19}, {"retrieval_mode": "dense"}])
    def test_incomparable_scores(self, change: dict[str, object]) -> None:
        with pytest.raises(ValueError, match="cannot be compared"):
            decide(scores(0.9, 0.8), scores(0.9, 0.8, **change), 0.02)


def test_gate_evaluation_against_the_live_version() -> None:
    retriever = ScriptedRetriever({1: GOOD, 2: WORSE})
    new = manifest(2, docs=["a.md", "b.md", "d.md"])
    evaluation = gate_evaluation(retriever, Registry(resolved(1)), "policies", new, GOLDEN, 0.02)
    assert json.loads(json.dumps(evaluation)) == evaluation
    GateEvaluation.model_validate(evaluation)
    assert evaluation["golden"] == {"questions": 3, "path": "golden.jsonl", "sha256": "0" * 64, "match": "source"}
    assert evaluation["live"]["version"] == 1
    assert evaluation["new"]["version"] == 2
    assert evaluation["live"]["recall"] == pytest.approx(0.5)
    # New: q1 a at rank 2 (recall 1, RR 1/2); q2 nothing; q3 nothing.
    assert evaluation["new"]["recall"] == pytest.approx(1 / 3)
    assert evaluation["new"]["mrr"] == pytest.approx(1 / 6)
    assert evaluation["new"]["missing_documents"] == ["c.md"]
    assert evaluation["tolerance"] == 0.02
    assert evaluation["passed"] is False
    assert evaluation["reasons"] == [
        "recall@5 0.500 -> 0.333 dropped 0.167 > tolerance 0.02",
        "MRR@10 0.500 -> 0.167 dropped 0.333 > tolerance 0.02",
        "1 golden document(s) are not in the new version: c.md",
    ]
    # Each version was searched once per question, the new one straight from its manifest.
    assert sorted({call[0] for call in retriever.calls}) == [1, 2]
    assert len(retriever.calls) == 6


def test_gate_evaluation_compares_with_the_live_version_never_the_canary() -> None:
    retriever = ScriptedRetriever({1: GOOD, 2: WORSE, 3: GOOD})
    registry = Registry(resolved(1), canary=resolved(2))
    evaluation = gate_evaluation(retriever, registry, "policies", manifest(3), GOLDEN, 0.02)
    assert evaluation["live"]["version"] == 1
    assert evaluation["passed"] is True
    assert sorted({call[0] for call in retriever.calls}) == [1, 3]


class Unknown(Registry):
    def live_version(self, index: str) -> int | None:
        raise IndexNotFound(f"unknown index {index!r}")


@pytest.mark.parametrize("registry", [Registry(None), Registry(None, canary=resolved(2)), Unknown(None)])
def test_gate_evaluation_without_a_live_version(registry: Registry) -> None:
    retriever = ScriptedRetriever({3: GOOD})
    evaluation = gate_evaluation(retriever, registry, "policies", manifest(3), GOLDEN, 0.05)
    assert evaluation["live"] is None
    assert evaluation["passed"] is True
    assert evaluation["reasons"] == ["no live version to compare with: the gate passes"]
    assert evaluation["new"]["version"] == 3


def test_gate_evaluation_refuses_a_manifest_of_another_index() -> None:
    with pytest.raises(ValueError, match="not 'policies'"):
        gate_evaluation(
            ScriptedRetriever({}), Registry(resolved(1)), "policies", manifest(2, index="other"), GOLDEN, 0.02
        )
