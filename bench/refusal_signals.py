"""Can a signal other than the best chunk's cosine tell covered questions from uncovered ones?

On the sample handbook's golden sets (86 answerable, 54 unanswerable questions), for each question:
``cos`` the best retrieved chunk's cosine (the product's signal); ``sentence`` the best cosine of a
single sentence of the top 5 chunks; ``sentence3`` the mean of the 3 best; ``coverage`` the IDF-
weighted share of the question's BM25 terms found in the top 5 chunks; ``unknown`` the IDF-weighted
share of its terms the corpus lacks; ``bm25`` the best BM25 score. Reports, per signal, the best
threshold's refusal precision and recall at the balanced point (max of min(P, R)), and the same for
a logistic regression over all signals, cross-validated (10 folds), so it is not fitted to itself.
Run: ``python bench/refusal_signals.py`` (about a minute).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, write_result
from indexes.refs import IndexRef
from indexes.types import SearchQuery
from rag.sentences import split_sentences
from rag.settings import Settings
from rag.wiring import build_services

GOLDEN = ROOT / "ingest" / "sample_handbook_golden"
SIGNALS = ("cos", "sentence", "sentence3", "coverage", "unknown", "bm25")


def _read(name: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in (GOLDEN / name).read_text().splitlines() if line.strip()]


def _balanced(scores: np.ndarray, answerable: np.ndarray, refuse_below: bool = True) -> dict[str, float]:
    """Best min(precision, recall) of 'refuse when score < t' (or > t) over all thresholds."""
    best = {"balanced": 0.0, "precision": 0.0, "recall": 0.0, "threshold": 0.0}
    for t in np.unique(scores):
        refuse = scores < t if refuse_below else scores > t
        tp = int((refuse & ~answerable).sum())
        fp = int((refuse & answerable).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / int((~answerable).sum())
        if min(precision, recall) > best["balanced"]:
            best = {"balanced": min(precision, recall), "precision": precision, "recall": recall, "threshold": float(t)}
    return {k: round(v, 3) for k, v in best.items()}


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    items = [(q, True) for q in _read("golden.jsonl")] + [(q, False) for q in _read("unanswerable.jsonl")]
    with tempfile.TemporaryDirectory() as tmp:
        s = build_services(Settings(_env_file=None, data_dir=Path(tmp), worker_enabled=False))
        try:
            s.builder.build("policies", ROOT / "ingest" / "sample_handbook", promote=True)
            v = s.registry.resolve(IndexRef("policies"))
            points = {p.chunk.chunk_id: p for p in s.engine.iter_points("policies", v.version)}
            df: Counter[int] = Counter()
            for p in points.values():
                df.update(set(p.sparse.indices))
            n = len(points)

            def idf(t: int) -> float:
                return math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))

            retriever = s.assistant.retriever
            sparse = retriever._sparse_encoder(v.manifest.sparse)
            rows = []
            for item, _ in items:
                q = str(item["question"])
                hits = retriever.search(v, q, 5)
                terms = sparse.encode_query(q).indices
                total = sum(idf(t) for t in terms) or 1.0
                in_top = set().union(*(set(points[h.chunk.chunk_id].sparse.indices) for h in hits))
                sentences = [x for h in hits for x in split_sentences(h.chunk.text) if len(x.split()) >= 3]
                sims = sorted(
                    (s.embedder.encode_documents(sentences) @ s.embedder.encode_query(q)).tolist(), reverse=True
                )
                query = SearchQuery(dense=s.embedder.encode_query(q).tolist(), sparse=sparse.encode_query(q), limit=1)
                top_bm25 = s.engine.search("policies", v.version, dataclasses.replace(query, mode="sparse"))
                rows.append(
                    [
                        max(h.similarity for h in hits),
                        sims[0],
                        float(np.mean(sims[:3])),
                        sum(idf(t) for t in terms if t in in_top) / total,
                        sum(idf(t) for t in terms if df[t] == 0) / total,
                        top_bm25[0].score if top_bm25 else 0.0,
                    ]
                )
        finally:
            s.close()
    x = np.asarray(rows)
    answerable = np.asarray([a for _, a in items])
    per_signal = {
        name: _balanced(x[:, i], answerable, refuse_below=(name != "unknown")) for i, name in enumerate(SIGNALS)
    }
    folds = StratifiedKFold(10, shuffle=True, random_state=0)
    proba = cross_val_predict(LogisticRegression(C=10, max_iter=1000), x, answerable, cv=folds, method="predict_proba")
    per_signal["logistic_regression_cv"] = _balanced(proba[:, 1], answerable)
    write_result(
        "refusal_signals",
        {"answerable": int(answerable.sum()), "unanswerable": int((~answerable).sum()), "signals": per_signal},
    )


if __name__ == "__main__":
    main()
