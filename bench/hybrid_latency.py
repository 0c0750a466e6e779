"""Hybrid against dense-only search latency at 50,000 chunks on Qdrant Edge, in one run.

Uses the 50,000-point index of ``bench/query_latency.py`` (the real handbooks points plus perturbed
copies; see there), then for each of 200 questions, interleaved so that load drifts hit every
mode alike: ``engine.search`` with a precomputed query and ``retriever.search`` (embedding the
question included), in dense, hybrid RRF and hybrid DBSF modes (limit 5, prefetch 50 each).
Target: hybrid retrieval p95 <= 2x dense. Median over ``--rounds`` rounds of each round's p50/p95.
Run: ``python bench/hybrid_latency.py [--handbooks-dir DIR]`` (a handbooks build first if DIR has none).
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, percentile, write_result
from bench.query_latency import INDEX, TOTAL, WARMUP, _dense_matrix, _fill, _questions, _real_points, _register
from indexes.refs import IndexRef
from indexes.types import SearchQuery
from ingest.sparse import SparseEncoder
from rag.settings import Settings
from rag.wiring import build_services

WORK = ROOT / "bench" / ".work" / "hybrid_latency"
MODES = {
    "dense": {"mode": "dense"},
    "hybrid_rrf": {"mode": "hybrid"},
    "hybrid_dbsf": {"mode": "hybrid", "fusion": "dbsf"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handbooks-dir", type=Path, default=ROOT / "bench" / ".work" / "handbooks")
    parser.add_argument("--total", type=int, default=TOTAL)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    questions = _questions()
    real, manifest, handbooks = _real_points(args.handbooks_dir)
    embedder = handbooks.embedder
    handbooks.close()
    dense = _dense_matrix(real, args.total)
    shutil.rmtree(WORK, ignore_errors=True)
    services = build_services(
        Settings(_env_file=None, data_dir=WORK, default_index=INDEX, worker_enabled=False),
        embedder=embedder,
    )
    try:
        version = services.catalog.allocate_version(INDEX)
        times = _fill(services.engine, version, real, dense)
        _register(services, version, manifest, real, args.total, times)
        resolved = services.registry.resolve(IndexRef(INDEX))
        sparse = SparseEncoder.from_spec(resolved.manifest.sparse)
        base = services.assistant.retriever
        retrievers = {name: base.configured(**opts) for name, opts in MODES.items()}
        queries = {
            q: SearchQuery(
                dense=embedder.encode_query(q).tolist(), sparse=sparse.encode_query(q), limit=5, prefetch_limit=50
            )
            for q in questions
        }
        for q in questions[:WARMUP]:
            for r in retrievers.values():
                r.search(resolved, q, 5)
        rounds: dict[str, dict[str, list[list[float]]]] = {m: {"search": [], "retrieval": []} for m in MODES}
        for _ in range(args.rounds):
            ms: dict[str, dict[str, list[float]]] = {m: {"search": [], "retrieval": []} for m in MODES}
            for q in questions:
                for name, opts in MODES.items():
                    query = dataclasses.replace(queries[q], **opts)  # type: ignore[arg-type]
                    t0 = time.perf_counter()
                    services.engine.search(INDEX, version, query)
                    t1 = time.perf_counter()
                    retrievers[name].search(resolved, q, 5)
                    t2 = time.perf_counter()
                    ms[name]["search"].append((t1 - t0) * 1000)
                    ms[name]["retrieval"].append((t2 - t1) * 1000)
            for name in MODES:
                for kind in ("search", "retrieval"):
                    rounds[name][kind].append(ms[name][kind])
    finally:
        services.close()

    def summary(per_round: list[list[float]]) -> dict[str, float]:
        return {
            "p50_ms": round(statistics.median(percentile(r, 50) for r in per_round), 2),
            "p95_ms": round(statistics.median(percentile(r, 95) for r in per_round), 2),
        }

    figures = {name: {kind: summary(rounds[name][kind]) for kind in ("search", "retrieval")} for name in MODES}
    ratios = {
        f"{name}_over_dense_{kind}_p95": round(figures[name][kind]["p95_ms"] / figures["dense"][kind]["p95_ms"], 2)
        for name in ("hybrid_rrf", "hybrid_dbsf")
        for kind in ("search", "retrieval")
    }
    write_result(
        "hybrid_latency",
        {
            "points": args.total,
            "questions": len(questions),
            "rounds": args.rounds,
            "figures": figures,
            "ratios": ratios,
            "target_hybrid_retrieval_p95_le_2x_dense": ratios["hybrid_rrf_over_dense_retrieval_p95"] <= 2.0,
        },
    )


if __name__ == "__main__":
    main()
