"""Ranking metrics against hand-computed values, including the edge cases."""

from __future__ import annotations

import math

import pytest

from indexes.types import ChunkRecord, SearchHit
from rag.evaluation.metrics import (
    dedupe,
    documents_in_rank_order,
    hit_at_k,
    mean,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank_at_k,
)


def hit(source: str, doc_id: str, ordinal: int = 0) -> SearchHit:
    chunk = ChunkRecord(
        chunk_id=f"{doc_id}:{ordinal}",
        doc_id=doc_id,
        title=doc_id,
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


class TestDocumentsInRankOrder:
    def test_each_document_once_at_its_best_rank(self) -> None:
        hits = [hit("b.md", "B", 0), hit("a.md", "A", 0), hit("b.md", "B", 1), hit("c.md", "C"), hit("a.md", "A", 2)]
        assert documents_in_rank_order(hits) == ["b.md", "a.md", "c.md"]
        assert documents_in_rank_order(hits, "doc_id") == ["B", "A", "C"]

    def test_no_hits(self) -> None:
        assert documents_in_rank_order([]) == []

    def test_unknown_match(self) -> None:
        with pytest.raises(ValueError, match="match"):
            documents_in_rank_order([hit("a.md", "A")], "title")  # type: ignore[arg-type]

    def test_dedupe_keeps_first_occurrence(self) -> None:
        assert dedupe(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


class TestRecall:
    def test_share_of_relevant_found(self) -> None:
        ranked = ["a", "b", "c", "d", "e", "f"]
        assert recall_at_k(ranked, {"b", "f"}, 5) == 0.5
        assert recall_at_k(ranked, {"b", "f"}, 6) == 1.0
        assert recall_at_k(ranked, {"b", "e", "z"}, 5) == pytest.approx(2 / 3)
        assert recall_at_k(ranked, {"z"}, 5) == 0.0

    def test_cut_is_inclusive(self) -> None:
        assert recall_at_k(["a", "b", "c"], {"c"}, 3) == 1.0
        assert recall_at_k(["a", "b", "c"], {"c"}, 2) == 0.0

    def test_k_beyond_the_list_means_the_whole_list(self) -> None:
        assert recall_at_k(["a", "b"], {"b", "c"}, 100) == 0.5

    def test_duplicates_count_once_and_do_not_use_up_the_cut(self) -> None:
        # Three chunks of "a" are one document: "b" is the 2nd document, inside the top 2.
        assert recall_at_k(["a", "a", "a", "b"], {"b"}, 2) == 1.0
        assert recall_at_k(["b", "b"], {"b"}, 5) == 1.0

    def test_no_relevant_documents_scores_zero(self) -> None:
        assert recall_at_k(["a", "b"], set(), 5) == 0.0

    def test_empty_ranking(self) -> None:
        assert recall_at_k([], {"a"}, 5) == 0.0

    def test_graded_mapping_counts_positive_grades_only(self) -> None:
        assert recall_at_k(["a", "b"], {"a": 2.0, "c": 1.0, "b": 0.0}, 5) == 0.5

    @pytest.mark.parametrize("k", [0, -1, 1.5, True])
    def test_bad_k(self, k: object) -> None:
        with pytest.raises(ValueError, match="k must be"):
            recall_at_k(["a"], {"a"}, k)  # type: ignore[arg-type]

    def test_a_string_is_not_a_list_of_ids(self) -> None:
        with pytest.raises(TypeError):
            recall_at_k(["a.md"], "a.md", 5)
        with pytest.raises(TypeError):
            recall_at_k("a.md", {"a.md"}, 5)


class TestHit:
    def test_any_relevant_in_top_k(self) -> None:
        assert hit_at_k(["a", "b", "c"], {"c", "z"}, 3) == 1.0
        assert hit_at_k(["a", "b", "c"], {"c", "z"}, 2) == 0.0
        assert hit_at_k(["a", "a", "c"], {"c"}, 2) == 1.0
        assert hit_at_k(["a"], set(), 2) == 0.0


class TestReciprocalRank:
    def test_first_relevant_rank(self) -> None:
        ranked = ["a", "b", "c", "d"]
        assert reciprocal_rank_at_k(ranked, {"a"}, 10) == 1.0
        assert reciprocal_rank_at_k(ranked, {"c", "d"}, 10) == pytest.approx(1 / 3)
        assert reciprocal_rank_at_k(ranked, {"d"}, 3) == 0.0
        assert reciprocal_rank_at_k(ranked, {"d"}, 4) == 0.25

    def test_duplicates_rank_by_first_occurrence(self) -> None:
        # Documents: a (1), b (2), c (3); the repeats of a do not push c down.
        assert reciprocal_rank_at_k(["a", "a", "b", "a", "c"], {"c"}, 10) == pytest.approx(1 / 3)
        assert reciprocal_rank_at_k(["a", "a", "b", "a", "c"], {"c"}, 3) == pytest.approx(1 / 3)

    def test_edge_cases(self) -> None:
        assert reciprocal_rank_at_k([], {"a"}, 10) == 0.0
        assert reciprocal_rank_at_k(["a"], set(), 10) == 0.0
        assert reciprocal_rank_at_k(["a", "b"], {"b"}, 100) == 0.5


class TestNdcg:
    def test_binary_single_relevant(self) -> None:
        # DCG = 1 / log2(3); IDCG = 1 / log2(2) = 1.
        assert ndcg_at_k(["a", "b", "c"], {"b"}, 3) == pytest.approx(0.6309297535714575)

    def test_binary_two_relevant(self) -> None:
        # DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3) = 1.6309297...
        assert ndcg_at_k(["a", "b", "c", "d"], {"a", "c"}, 4) == pytest.approx(1.5 / 1.6309297535714575)
        assert ndcg_at_k(["a", "b", "c", "d"], {"a", "c"}, 4) == pytest.approx(0.9197207891481876)

    def test_perfect_and_empty(self) -> None:
        assert ndcg_at_k(["a", "b", "x"], {"a", "b"}, 3) == pytest.approx(1.0)
        assert ndcg_at_k(["x", "y"], {"a"}, 10) == 0.0
        assert ndcg_at_k([], {"a"}, 10) == 0.0
        assert ndcg_at_k(["a"], set(), 10) == 0.0
        assert ndcg_at_k(["a"], {"a": 0.0}, 10) == 0.0

    def test_graded(self) -> None:
        # DCG = 1/log2(2) + 3/log2(4) = 2.5; IDCG = 3/log2(2) + 1/log2(3) = 3.6309297...
        assert ndcg_at_k(["b", "x", "a"], {"a": 3, "b": 1}, 3) == pytest.approx(2.5 / 3.6309297535714575)
        # k = 1: DCG = 1; IDCG = 3 (the ideal list is cut at k too).
        assert ndcg_at_k(["b", "a"], {"a": 3, "b": 1}, 1) == pytest.approx(1 / 3)

    def test_more_relevant_than_k(self) -> None:
        # IDCG@2 over three relevant documents = 1 + 1/log2(3).
        assert ndcg_at_k(["a"], {"a", "b", "c"}, 2) == pytest.approx(1 / (1 + 1 / math.log2(3)))

    def test_duplicates_do_not_add_gain(self) -> None:
        assert ndcg_at_k(["a", "a", "b"], {"a"}, 3) == pytest.approx(1.0)
        assert ndcg_at_k(["a", "a", "b"], {"b"}, 2) == pytest.approx(1 / math.log2(3))

    def test_negative_grades_are_refused(self) -> None:
        with pytest.raises(ValueError, match="grades must be >= 0"):
            ndcg_at_k(["a"], {"a": -1.0}, 3)


class TestMean:
    def test_mean(self) -> None:
        assert mean([1.0, 0.0, 0.5, 0.5]) == 0.5
        assert mean(iter([0.25])) == 0.25

    def test_exactly_rounded_and_order_free(self) -> None:
        values = [0.1] * 10 + [1 / 3] * 7
        assert mean(values) == mean(list(reversed(values)))
        assert mean([0.1] * 10) == 0.1  # a plain sum gives 0.09999999999999999

    def test_no_values(self) -> None:
        with pytest.raises(ValueError, match="no values"):
            mean([])
