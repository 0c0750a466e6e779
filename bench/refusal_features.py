"""Which refusal features refuse the most unanswerable questions at the false-refusal limit, on two
question sets: the handbook dev set (../shared/data/handbook-qa-dev over ../shared/data/handbooks)
and the sample handbook's golden set (ingest/sample_handbook_golden over ingest/sample_handbook).

For every question the product's own signals are computed (``Assistant.refusal_signals``: the
retrieval of an ask, the question's focus, the version's embedder). Each feature set is then judged
the way ``rag.refusal.calibrate`` fits a model: a logistic regression with its threshold at
``rag.refusal.conformal_threshold`` (5%), fitted on four folds and applied to the fifth; 5 stratified
folds drawn with 20 seeds, averaged. Reports false refusals and unanswerable questions refused per
feature set and question set, the two first sets also with the threshold rule before session 11
(``previous_rule``), and what the weakest term similarity costs per question with an empty word
cache and with a warm one (the total of the cold pass is what a build calibrated on the set adds).

Run: ``python bench/refusal_features.py [--data-dir <a rag eval data folder>]`` (the handbooks
build is reused from that folder when it holds them; else built into a temporary one, about 4
minutes on 2 cores). Writes ``bench/results/refusal_features.json``.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SHARED_DATA, write_result
from indexes.refs import IndexRef
from rag import term_match
from rag.calibration import load_calibration_set
from rag.evaluation.session import prepare_corpus_version
from rag.refusal import conformal_threshold
from rag.settings import Settings
from rag.wiring import build_services

FEATURE_SETS = (
    ("best_similarity",),
    ("best_similarity", "sentence_coverage"),
    ("best_similarity", "weakest_term_similarity"),
    ("best_similarity", "sentence_coverage", "weakest_term_similarity"),
)
SEEDS = 20


def previous_threshold(scores: list[float], answerable: list[bool], max_false_refusal: float) -> float:
    """The rule before session 11: refuse the floor(max_false_refusal * n) lowest answerable scores."""
    positives = sorted(s for s, a in zip(scores, answerable, strict=True) if a)
    return positives[min(math.floor(max_false_refusal * len(positives)), len(positives) - 1)] - 1e-9


def cross_validated(
    rows: list[dict[str, Any]],
    features: tuple[str, ...],
    rule: Callable[..., float] = conformal_threshold,
    seeds: int = SEEDS,
) -> dict[str, float]:
    """Mean false-refusal and unanswerable-refused rates of a logistic model over ``features``
    (``rows`` hold them and ``answerable``), 5 folds x ``seeds`` draws, the threshold chosen by
    ``rule`` at 5% on the training folds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray([r["answerable"] for r in rows], dtype=bool)
    x = np.asarray([[r[f] for f in features] for r in rows], dtype=float)
    fr, refused = [], []
    for seed in range(seeds):
        out = np.zeros(len(y), dtype=bool)
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y):
            model = LogisticRegression(max_iter=1000).fit(x[tr], y[tr])
            threshold = rule(model.predict_proba(x[tr])[:, 1].tolist(), y[tr].tolist(), 0.05)
            out[te] = model.predict_proba(x[te])[:, 1] < threshold
        fr.append(out[y].mean())
        refused.append(out[~y].mean())
    return {"false_refusal": round(float(np.mean(fr)), 3), "refused_unanswerable": round(float(np.mean(refused)), 3)}


def signals(data: Path, corpus: Path, index: str, questions: Path) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """The product's refusal signals for every question of ``questions`` over ``corpus``, and what the
    weakest term similarity costs per question (ms) with an empty word cache and then a warm one."""
    s = build_services(Settings(_env_file=None, data_dir=data, worker_enabled=False))  # type: ignore[call-arg]
    try:
        prepare_corpus_version(s, corpus, index)
        version = s.registry.resolve(IndexRef(index))
        qset = load_calibration_set(questions)
        rows = [
            {"answerable": answerable, **s.assistant.refusal_signals(version, question)}
            for question, answerable in qset.questions
        ]
        retriever = s.assistant.retriever
        embedder = retriever.embedder_for(version)
        asked = [(retriever.focus(version, q), retriever.search(version, q, 5)) for q, _ in qset.questions]
        term_match.clear_word_vectors()  # the cold pass starts from an empty word cache
        cost: dict[str, float] = {}
        for label in ("cold", "warm"):
            ms = []
            for focus, hits in asked:
                t0 = time.perf_counter()
                term_match.weakest_term_similarity(focus, hits, embedder)
                ms.append((time.perf_counter() - t0) * 1000)
            cost |= {f"{label}_p50_ms": round(float(np.percentile(ms, 50)), 1)}
            cost |= {f"{label}_p95_ms": round(float(np.percentile(ms, 95)), 1)}
            cost |= {f"{label}_total_s": round(sum(ms) / 1000, 1)}
        return rows, cost
    finally:
        s.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None, help="a rag eval data folder (else a fresh build)")
    args = parser.parse_args()
    sets = {
        "handbook-qa-dev": (SHARED_DATA / "handbooks", "eval-handbooks", SHARED_DATA / "handbook-qa-dev"),
        "sample golden": (
            ROOT / "ingest" / "sample_handbook",
            "eval-sample",
            ROOT / "ingest" / "sample_handbook_golden" / "golden.jsonl",
        ),
    }
    result: dict[str, Any] = {"seeds": SEEDS, "folds": 5, "max_false_refusal": 0.05, "sets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (corpus, index, questions) in sets.items():
            rows, cost = signals(args.data_dir or Path(tmp), corpus, index, questions)
            result["sets"][name] = {
                "answerable": sum(r["answerable"] for r in rows),
                "unanswerable": sum(not r["answerable"] for r in rows),
                "cross_validated": {" + ".join(f): cross_validated(rows, f) for f in FEATURE_SETS},
                "previous_rule": {
                    " + ".join(f): cross_validated(rows, f, previous_threshold) for f in FEATURE_SETS[:2]
                },
                "weakest_term_cost": cost,
            }
    write_result("refusal_features", result)


if __name__ == "__main__":
    main()
