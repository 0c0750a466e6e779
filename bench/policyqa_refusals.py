"""False refusals on PolicyQA (all answerable): the settings' global threshold against a floor
calibrated on the index's own questions, judged on questions it was not fitted on.

Builds the 20 policies of ../shared/data/policyqa-dev (spans layout) into one index, then searches
every question as ``/v1/ask`` would (restricted to its policy) and computes the refusal signals.
The questions are split in two by a fixed rule (the parity of the first byte of the sha256 of the
question's id; PolicyQA's file order groups questions, so alternating in file order does not give
two alike halves): the first half calibrates the index (``rag.refusal.calibrate``: PolicyQA has no
unanswerable questions, so the result is a similarity floor at the 5% false-refusal limit), the
second half is judged by it and by the global threshold (``RAG_REFUSAL_THRESHOLD``), in the same run.

Run: ``python bench/policyqa_refusals.py`` (a few minutes on 2 cores). Writes
``bench/results/policyqa_refusals.json``.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SHARED_DATA, write_result
from ingest.sparse import SparseEncoder
from rag.evaluation.datasets import load_dataset
from rag.evaluation.session import prepare_version
from rag.refusal import calibrate, refusal_signals
from rag.settings import Settings
from rag.wiring import build_services

WORK = ROOT / "bench" / ".work" / "policyqa_refusals"


def main() -> None:
    """Build, search, calibrate on one half, judge the other; print and save the figures."""
    data = load_dataset(SHARED_DATA / "policyqa-dev", "spans")
    settings = Settings(_env_file=None, data_dir=WORK / "data", worker_enabled=False)
    services = build_services(settings)
    terms = SparseEncoder()
    try:
        version, _ = prepare_version(services, data, "policyqa")
        retriever = services.assistant.retriever
        signals = []
        for query in data.queries:
            hits = retriever.search(
                version, query.text, settings.top_k, doc_ids=[query.restrict_to] if query.restrict_to else None
            )
            signals.append(refusal_signals(query.text, hits, terms, retriever.focus(version, query.text)))
    finally:
        services.close()
    first = [hashlib.sha256(q.id.encode()).digest()[0] % 2 == 0 for q in data.queries]
    fit = [s for s, f in zip(signals, first, strict=True) if f]
    judged = [s for s, f in zip(signals, first, strict=True) if not f]
    model = calibrate(fit, [True] * len(fit), fitted_on={"name": "policyqa-dev, questions whose id hash is even"})

    def global_refused(rows: list[dict[str, float]]) -> float:
        return sum(r["best_similarity"] < settings.refusal_threshold for r in rows) / len(rows)

    result: dict[str, Any] = {
        "questions": {"calibration": len(fit), "judged": len(judged)},
        "global_threshold": settings.refusal_threshold,
        "false_refusal_global": {"calibration half": global_refused(fit), "judged half": global_refused(judged)},
        "floor": model.threshold,
        "false_refusal_floor": {
            "calibration half": model.in_sample["false_refusal"],
            "cross-validated on the calibration half": model.cross_validated["false_refusal"],
            "judged half": sum(model.refuses(r) for r in judged) / len(judged),
        },
    }
    before = result["false_refusal_global"]
    table = [
        "| refusal decision | false refusals, calibration half | false refusals, judged half |",
        "| --- | --- | --- |",
        f"| global threshold {settings.refusal_threshold} (before) | {before['calibration half']:.3f} "
        f"| {before['judged half']:.3f} |",
        f"| floor {model.threshold:.4f} calibrated on the first half | {model.in_sample['false_refusal']:.3f} "
        f"(cross-validated {model.cross_validated['false_refusal']:.3f}) "
        f"| {result['false_refusal_floor']['judged half']:.3f} |",
    ]
    print("\n".join(table))
    write_result("policyqa_refusals", {**result, "markdown": "\n".join(table)})


if __name__ == "__main__":
    main()
