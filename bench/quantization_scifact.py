"""Retrieval quality on SciFact with the vector storage settings off and on (int8 quantization, on disk).

The points are those of the growth benchmark (``bench/growth.py``): the real chunks of a SciFact
build by the default embedder (torch fp32) plus perturbed copies (``--points`` in all; the copies'
documents are ``#copyN`` ids, which no SciFact judgment names: they are distractors). The same
points are written into one new version per storage variant (``none``; ``int8``:
``RAG_VECTOR_QUANTIZATION=int8``; ``int8-disk``: that and ``RAG_VECTORS_ON_DISK=true``), each
sealed as a build seals it, then scored as ``rag eval`` scores (hybrid DBSF, the product's
retriever settings, all 300 BEIR test claims) with the same embedder. A claim whose judged
abstracts are not among the real chunks scores 0 in every variant, so the absolute figures are far
below SciFact's published ones; what the benchmark compares is the variants against each other: the
only difference between them is how the engine stores and searches the same vectors. Each
version's quantized-vector bytes on disk are reported, to show the quantization was applied (Edge
builds it when it optimizes a segment).
Target (issue 17): nDCG@10 within 0.005 of ``none``.
Run: ``nice -n 10 python bench/quantization_scifact.py``. Results: bench/results/quantization_scifact.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SHARED_DATA, write_result
from bench.growth import INDEX, SOURCE, _batches, _manifest, _real_points
from indexes.refs import IndexRef
from rag.evaluation.datasets import load_dataset
from rag.evaluation.runner import evaluate
from rag.settings import Settings
from rag.wiring import build_services

WORK = ROOT / "bench" / ".work" / "quantization"
VARIANTS: dict[str, dict[str, Any]] = {
    "none": {},
    "int8": {"vector_quantization": "int8"},
    "int8-disk": {"vector_quantization": "int8", "vectors_on_disk": True},
}


def _quantized_bytes(shard: Path) -> int:
    return sum(p.stat().st_size for p in shard.rglob("quantized.data"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help="as bench/growth.py --source")
    parser.add_argument("--backend", default="torch", help="the embedding backend the source was built with")
    parser.add_argument("--points", type=int, default=20_000, help="points in each version (real + copies)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    load = os.getloadavg()[0]
    real, source_manifest = _real_points(args.source)
    data = load_dataset(SHARED_DATA / "scifact", "beir")
    out: dict[str, Any] = {}
    for variant in args.variants:
        data_dir = WORK / variant
        shutil.rmtree(data_dir, ignore_errors=True)
        services = build_services(
            Settings(
                _env_file=None,
                data_dir=data_dir,
                worker_enabled=False,
                embedding_backend=args.backend,
                **VARIANTS[variant],
            )
        )
        try:
            version = services.catalog.allocate_version(INDEX)
            start = time.perf_counter()
            services.engine.create_version(INDEX, version, len(real[0].dense))
            for batch in _batches(real, args.points):
                services.engine.upsert(INDEX, version, batch)
            services.engine.seal(INDEX, version)
            build_s = time.perf_counter() - start
            services.catalog.mark_ready(_manifest(version, source_manifest, real, args.points, services.engine.name))
            services.registry.promote(INDEX, version)
            resolved = services.registry.resolve(IndexRef(INDEX))
            start = time.perf_counter()
            result = evaluate(
                services.assistant.retriever, resolved, data, refusal_threshold=services.settings.refusal_threshold
            )
            eval_s = time.perf_counter() - start
            shard = data_dir / "shards" / INDEX / f"v{version:04d}"
            out[variant] = {
                "settings": VARIANTS[variant],
                "points": args.points,
                "real_chunks": len(real),
                "quantized_bytes": _quantized_bytes(shard),
                "write_and_seal_s": round(build_s, 1),
                "eval_s": round(eval_s, 1),
                **{k: round(v, 4) for k, v in result.metrics.items() if k.startswith(("ndcg", "recall", "mrr"))},
            }
            print(variant, out[variant], flush=True)
        finally:
            services.close()
            shutil.rmtree(data_dir, ignore_errors=True)
    base = out.get("none", {}).get("ndcg@10")
    write_result(
        "quantization_scifact",
        {
            "source_embedder": source_manifest.embedder.model_id,
            "variants": out,
            "ndcg@10_change_vs_none": {
                k: round(v["ndcg@10"] - base, 4) for k, v in out.items() if base is not None and k != "none"
            },
            "load_average_1m": {"start": round(load, 2), "end": round(os.getloadavg()[0], 2)},
        },
    )


if __name__ == "__main__":
    main()
