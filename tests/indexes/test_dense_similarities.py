"""A search's cosines come from one matrix product; they equal the pairwise cosine, zero vectors give 0."""

from __future__ import annotations

import numpy as np
import pytest

from indexes.engine import dense_similarities


def test_each_cosine_equals_the_pairwise_cosine_in_order() -> None:
    rng = np.random.default_rng(7)
    query = rng.normal(size=16)
    stored = rng.normal(size=(5, 16))
    expected = [float(np.dot(query, row) / (np.linalg.norm(query) * np.linalg.norm(row))) for row in stored]
    assert dense_similarities(query.tolist(), stored.tolist()) == pytest.approx(expected, abs=1e-12)


def test_a_zero_vector_has_similarity_zero_and_nothing_stored_gives_nothing() -> None:
    assert dense_similarities([1.0, 0.0], [[0.0, 0.0], [2.0, 0.0]]) == [0.0, 1.0]
    assert dense_similarities([0.0, 0.0], [[1.0, 0.0]]) == [0.0]
    assert dense_similarities([1.0, 0.0], []) == []
