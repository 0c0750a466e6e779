"""Calibrates the refusal threshold on the sample handbook's golden sets.

Builds the bundled handbook, retrieves for every answerable and unanswerable question, and
reports refusal precision/recall for a sweep of thresholds on the best chunk's cosine similarity,
plus recall@5 / MRR@10 of the answerable set. Run: ``python bench/refusal_calibration.py``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, write_result
from indexes.refs import IndexRef
from rag.settings import Settings
from rag.wiring import build_services

GOLDEN = ROOT / "ingest" / "sample_handbook_golden"


def _read(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (GOLDEN / name).read_text().splitlines() if line.strip()]


def main(mode: str = "hybrid") -> None:
    answerable = _read("golden.jsonl")
    unanswerable = _read("unanswerable.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp), retrieval_mode=mode)
        services = build_services(settings)
        try:
            services.builder.build("policies", ROOT / "ingest" / "sample_handbook", promote=True)
            version = services.registry.resolve(IndexRef("policies"))
            retriever = services.assistant.retriever

            def best(q: str) -> tuple[float, list[str]]:
                hits = retriever.search(version, q, 10)
                return max(h.similarity for h in hits), [h.chunk.source for h in hits]

            pos = []
            recall5 = mrr10 = 0.0
            for item in answerable:
                score, sources = best(str(item["question"]))
                pos.append(score)
                gold = set(item["doc_ids"])
                recall5 += any(s in gold for s in sources[:5])
                rank = next((i for i, s in enumerate(sources[:10], 1) if s in gold), None)
                mrr10 += 1 / rank if rank else 0.0
            neg = [best(str(item["question"]))[0] for item in unanswerable]
        finally:
            services.close()

    sweep = []
    for t100 in range(10, 71, 1):
        t = t100 / 100
        refused_neg = sum(s < t for s in neg)
        refused_pos = sum(s < t for s in pos)
        refused = refused_neg + refused_pos
        precision = refused_neg / refused if refused else 1.0
        recall = refused_neg / len(neg)
        sweep.append(
            {
                "threshold": t,
                "refusal_precision": round(precision, 3),
                "refusal_recall": round(recall, 3),
                "answerable_refused": refused_pos,
                "f1": round(2 * precision * recall / (precision + recall), 3) if precision + recall else 0.0,
            }
        )
    # The rule: refuse as many uncovered questions as possible while at least 90% of refusals are
    # right (wrongly refusing a covered question is the costlier mistake for employees).
    precise = [r for r in sweep if float(r["refusal_precision"]) >= 0.9] or sweep[:1]
    chosen = max(precise, key=lambda r: (r["refusal_recall"], -float(r["threshold"])))
    write_result(
        "refusal_calibration" if mode == "hybrid" else f"refusal_calibration_{mode}",
        {
            "retrieval_mode": mode,
            "answerable": len(pos),
            "unanswerable": len(neg),
            "recall_at_5": round(recall5 / len(answerable), 3),
            "mrr_at_10": round(mrr10 / len(answerable), 3),
            "chosen": chosen,
            "sweep": sweep,
            "best_similarity": {
                "answerable": sorted(round(x, 3) for x in pos),
                "unanswerable": sorted(round(x, 3) for x in neg),
            },
        },
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "hybrid")
