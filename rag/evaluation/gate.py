"""The promotion gate: score a version on a golden set and compare it with the live version.

Scores are reproducible: retrieval is deterministic for a given version, question and mode, the
metrics are pure functions, and means are exactly rounded; evaluating a version twice gives equal
:class:`GateScores`. Every model here dumps to JSON (``model_dump(mode="json")``) so it can be kept
in ``Manifest.evaluation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from indexes.manifest import Manifest
from indexes.refs import IndexRef
from indexes.types import SearchHit
from indexes.versions import ResolvedVersion
from rag.errors import IndexNotFound, VersionNotFound
from rag.evaluation.golden import GoldenQuestion, GoldenSet
from rag.evaluation.metrics import (
    Match,
    documents_in_rank_order,
    hit_at_k,
    mean,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank_at_k,
)

__all__ = [
    "GateDecision",
    "GateEvaluation",
    "GateScores",
    "GoldenInfo",
    "Searcher",
    "VersionResolver",
    "VersionScores",
    "decide",
    "evaluate_version",
    "gate_evaluation",
]

_EPSILON = 1e-9
"""Slack for float noise when comparing a drop with the tolerance (scores are multiples of 1/n)."""


class Searcher(Protocol):
    """What the gate needs of :class:`rag.retrieval.Retriever`."""

    mode: str

    def search(
        self,
        version: ResolvedVersion,
        question: str,
        limit: int,
        *,
        doc_ids: list[str] | None = None,
        mode: str | None = None,
    ) -> list[SearchHit]: ...


class VersionResolver(Protocol):
    """What the gate needs of :class:`indexes.versions.VersionRegistry`."""

    def live_version(self, index: str) -> int | None: ...

    def resolve(self, ref: IndexRef) -> ResolvedVersion: ...


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GateScores(_Frozen):
    """Retrieval quality of one version on one golden set.

    ``recall`` is the mean recall@``k_recall`` and ``mrr`` the mean reciprocal rank within the top
    ``k_mrr``; ``hit_rate`` (share of questions with a relevant document in the top ``k_recall``)
    and ``ndcg`` (nDCG@``k_mrr``) are reported but not gated. Ranks are over distinct documents
    derived from the ``limit`` best chunks per question.
    """

    questions: int = Field(ge=1)
    match: Match
    retrieval_mode: str
    limit: int = Field(ge=1, description="Chunks retrieved per question.")
    k_recall: int = Field(ge=1)
    recall: float = Field(ge=0.0, le=1.0)
    k_mrr: int = Field(ge=1)
    mrr: float = Field(ge=0.0, le=1.0)
    hit_rate: float = Field(ge=0.0, le=1.0)
    ndcg: float = Field(ge=0.0, le=1.0)
    misses: list[str] = Field(
        default_factory=list, description="Ids of the questions with no relevant document in the top k_recall."
    )
    missing_documents: list[str] = Field(
        default_factory=list, description="Golden documents the version does not hold at all."
    )

    def comparable_with(self, other: GateScores) -> bool:
        """True when both were computed with the same cut-offs, match mode, depth and retrieval mode."""
        keys = ("questions", "match", "retrieval_mode", "limit", "k_recall", "k_mrr")
        return all(getattr(self, key) == getattr(other, key) for key in keys)


class VersionScores(GateScores):
    """:class:`GateScores` of a named version."""

    version: int


class GateDecision(_Frozen):
    """Whether a new version may replace the live one, and why, one reason per check."""

    passed: bool
    reasons: list[str]


class GoldenInfo(_Frozen):
    """Which golden set scored the versions: the file's name (never an absolute path) and digest."""

    questions: int
    path: str
    sha256: str
    match: Match


class GateEvaluation(_Frozen):
    """What the gate stores in a new version's ``Manifest.evaluation``."""

    golden: GoldenInfo
    new: VersionScores
    live: VersionScores | None
    tolerance: float
    passed: bool
    reasons: list[str]


def _golden_documents(version: ResolvedVersion, match: Match) -> set[str]:
    docs = version.manifest.documents
    return {d.source for d in docs} if match == "source" else {d.doc_id for d in docs}


def evaluate_version(
    retriever: Searcher,
    version: ResolvedVersion,
    golden: GoldenSet | Sequence[GoldenQuestion],
    k_recall: int = 5,
    k_mrr: int = 10,
    *,
    match: Match | None = None,
    mode: str | None = None,
) -> GateScores:
    """Score ``version`` on the golden questions: recall@``k_recall`` and MRR@``k_mrr``.

    Each question retrieves ``max(k_recall, k_mrr)`` chunks (in ``mode``, default the retriever's);
    the chunks become documents by first occurrence (:func:`documents_in_rank_order`), matched to
    the golden ``doc_ids`` by ``match`` (default: the golden set's, else ``source``). When those
    chunks hold fewer than ``k`` distinct documents, the top ``k`` is that shorter list: a document
    whose best chunk ranks below ``limit`` is not seen (the same for every version, so scores stay
    comparable). Raises ``ValueError`` for no questions or a cut-off below 1.
    """
    if isinstance(golden, GoldenSet):
        questions: Sequence[GoldenQuestion] = golden.questions
        match = match or golden.match
    else:
        questions = golden
        match = match or "source"
    if not questions:
        raise ValueError("a golden set without questions cannot score a version")
    if k_recall < 1 or k_mrr < 1:
        raise ValueError(f"cut-offs must be >= 1, not k_recall={k_recall}, k_mrr={k_mrr}")
    limit = max(k_recall, k_mrr)
    used_mode = mode or retriever.mode
    recalls: list[float] = []
    rrs: list[float] = []
    hits: list[float] = []
    ndcgs: list[float] = []
    misses: list[str] = []
    for item in questions:
        ranked = documents_in_rank_order(retriever.search(version, item.question, limit, mode=used_mode), match)
        recalls.append(recall_at_k(ranked, item.relevant, k_recall))
        rrs.append(reciprocal_rank_at_k(ranked, item.relevant, k_mrr))
        hit = hit_at_k(ranked, item.relevant, k_recall)
        hits.append(hit)
        ndcgs.append(ndcg_at_k(ranked, item.relevant, k_mrr))
        if not hit:
            misses.append(item.id)
    held = _golden_documents(version, match)
    return GateScores(
        questions=len(questions),
        match=match,
        retrieval_mode=used_mode,
        limit=limit,
        k_recall=k_recall,
        recall=mean(recalls),
        k_mrr=k_mrr,
        mrr=mean(rrs),
        hit_rate=mean(hits),
        ndcg=mean(ndcgs),
        misses=misses,
        missing_documents=sorted({d for item in questions for d in item.doc_ids} - held),
    )


def _check(label: str, before: float, after: float, tolerance: float) -> tuple[bool, str]:
    change = f"{label} {before:.3f} -> {after:.3f}"
    drop = before - after
    if drop > tolerance + _EPSILON:
        return False, f"{change} dropped {drop:.3f} > tolerance {tolerance:g}"
    if drop > _EPSILON:
        return True, f"{change} dropped {drop:.3f}, within tolerance {tolerance:g}"
    return True, f"{change}, no drop"


def decide(new: GateScores, live: GateScores | None, tolerance: float) -> GateDecision:
    """Pass unless recall or MRR of ``new`` is more than ``tolerance`` below ``live``'s.

    With no live version there is nothing to compare with and the gate passes, saying so. Raises
    ``ValueError`` for a negative tolerance or scores computed in different ways
    (:meth:`GateScores.comparable_with`).
    """
    if not tolerance >= 0.0:
        raise ValueError(f"tolerance must be >= 0, not {tolerance!r}")
    reasons: list[str] = []
    if new.missing_documents:
        reasons.append(
            f"{len(new.missing_documents)} golden document(s) are not in the new version: "
            + ", ".join(new.missing_documents)
        )
    if live is None:
        return GateDecision(passed=True, reasons=["no live version to compare with: the gate passes", *reasons])
    if not new.comparable_with(live):
        raise ValueError("the new and live scores were computed differently and cannot be compared")
    checks = [
        _check(f"recall@{new.k_recall}", live.recall, new.recall, tolerance),
        _check(f"MRR@{new.k_mrr}", live.mrr, new.mrr, tolerance),
    ]
    return GateDecision(passed=all(ok for ok, _ in checks), reasons=[text for _, text in checks] + reasons)


def gate_evaluation(
    retriever: Searcher,
    registry: VersionResolver,
    index: str,
    new_manifest: Manifest,
    golden: GoldenSet,
    tolerance: float,
    *,
    k_recall: int = 5,
    k_mrr: int = 10,
) -> dict[str, Any]:
    """Evaluate a sealed (not yet ready) version against the live one; the dict for ``Manifest.evaluation``.

    The new version is searched directly from its manifest; the live version is the one the
    index's alias names (none before the first promotion), never a canary. Both are scored the
    same way on ``golden`` and compared by :func:`decide`. The result is :class:`GateEvaluation`
    as JSON: ``golden`` (questions, file name, digest, match), ``new`` and ``live`` (scores with
    their version; ``live`` is None without one), ``tolerance``, ``passed`` and ``reasons``.
    Raises ``ValueError`` when ``new_manifest`` is of another index; errors while retrieving
    (e.g. the live version's embedder cannot be loaded) propagate.
    """
    if new_manifest.index != index:
        raise ValueError(f"the manifest is of index {new_manifest.index!r}, not {index!r}")
    new_version = ResolvedVersion(index, None, new_manifest.version, new_manifest)
    new = evaluate_version(retriever, new_version, golden, k_recall, k_mrr)
    # The live alias's version, resolved pinned: an unpinned reference may draw the canary.
    live_version: ResolvedVersion | None = None
    try:
        live_number = registry.live_version(index)
        if live_number is not None:
            live_version = registry.resolve(IndexRef(index, live_number))
    except (IndexNotFound, VersionNotFound):
        live_version = None
    live: VersionScores | None = None
    if live_version is not None:
        scores = evaluate_version(retriever, live_version, golden, k_recall, k_mrr)
        live = VersionScores(**scores.model_dump(), version=live_version.version)
    decision = decide(new, live, tolerance)
    evaluation = GateEvaluation(
        golden=GoldenInfo(questions=len(golden), path=golden.name, sha256=golden.sha256, match=golden.match),
        new=VersionScores(**new.model_dump(), version=new_manifest.version),
        live=live,
        tolerance=tolerance,
        passed=decision.passed,
        reasons=decision.reasons,
    )
    return evaluation.model_dump(mode="json")
