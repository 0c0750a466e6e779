"""Which refusal features refuse the most unanswerable questions at the false-refusal limit, on two
question sets: the handbook dev set (../shared/data/handbook-qa-dev over ../shared/data/handbooks)
and the sample handbook's golden set (ingest/sample_handbook_golden over ingest/sample_handbook).

For every question the product's own signals are computed (``Assistant.refusal_signals``: the
retrieval of an ask, the question's focus, the version's embedder). Each feature set is then judged
the way ``rag.refusal.calibrate`` fits a model: a logistic regression with its threshold at
``rag.refusal.conformal_threshold`` (5%), fitted on four folds and applied to the fifth; 5 stratified
folds drawn with 20 seeds, averaged. Reports false refusals and unanswerable questions refused per
feature set and question set.

Run: ``python bench/refusal_features.py [--data-dir <a rag eval data folder>]`` (the handbooks
build is reused from that folder when it holds them; else built into a temporary one, about 4
minutes on 2 cores). Writes ``bench/results/refusal_features.json``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SHARED_DATA, write_result
from indexes.refs import IndexRef
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


def cross_validated(rows: list[dict[str, Any]], features: tuple[str, ...]) -> dict[str, float]:
    """Mean false-refusal and unanswerable-refused rates over 5 folds x ``SEEDS`` draws."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray([r["answerable"] for r in rows], dtype=bool)
    x = np.asarray([[r[f] for f in features] for r in rows], dtype=float)
    fr, refused = [], []
    for seed in range(SEEDS):
        out = np.zeros(len(y), dtype=bool)
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y):
            model = LogisticRegression(max_iter=1000).fit(x[tr], y[tr])
            threshold = conformal_threshold(model.predict_proba(x[tr])[:, 1].tolist(), y[tr].tolist(), 0.05)
            out[te] = model.predict_proba(x[te])[:, 1] < threshold
        fr.append(out[y].mean())
        refused.append(out[~y].mean())
    return {"false_refusal": round(float(np.mean(fr)), 3), "refused_unanswerable": round(float(np.mean(refused)), 3)}


def signals(data: Path, corpus: Path, index: str, questions: Path) -> list[dict[str, Any]]:
    """The product's refusal signals for every question of ``questions`` over ``corpus``."""
    s = build_services(Settings(_env_file=None, data_dir=data, worker_enabled=False))  # type: ignore[call-arg]
    try:
        prepare_corpus_version(s, corpus, index)
        version = s.registry.resolve(IndexRef(index))
        qset = load_calibration_set(questions)
        return [
            {"answerable": answerable, **s.assistant.refusal_signals(version, question)}
            for question, answerable in qset.questions
        ]
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
            rows = signals(args.data_dir or Path(tmp), corpus, index, questions)
            result["sets"][name] = {
                "answerable": sum(r["answerable"] for r in rows),
                "unanswerable": sum(not r["answerable"] for r in rows),
                "cross_validated": {" + ".join(f): cross_validated(rows, f) for f in FEATURE_SETS},
            }
    write_result("refusal_features", result)


if __name__ == "__main__":
    main()
