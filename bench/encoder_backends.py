"""Encoder backends side by side in one run: torch fp32, ONNX Runtime fp32 and ONNX Runtime int8.

For each backend (``RAG_EMBEDDING_BACKEND``), with the product's default settings otherwise
(``embedding_threads`` unset: all cores, as ``rag ingest`` builds; ``--threads 1`` as ``rag serve``):

- **build throughput**: chunks per second embedding the first 1,000 chunks of the shared handbooks
  (<shared data>/handbooks, chunked by the product's chunker), in batches of the build's size;
  ``--rounds`` rounds, backends interleaved within each round, median reported;
- **question embedding**: p50/p95 of one question embedded alone (PolicyQA dev questions),
  backends interleaved question by question;
- **agreement**: mean (and minimum) cosine of each backend's chunk vectors to torch fp32's;
- **retrieval quality**: nDCG@10 of the product's hybrid search on SciFact (BEIR test, 300 queries)
  and PolicyQA dev (spans), each corpus built once per backend with the product's builder,
  scored by ``rag.evaluation`` as ``rag eval`` does; the build's wall time is reported too.

Targets (issue 17): throughput >= 1.4x torch, question p95 <= 0.5x torch, mean cosine >= 0.99,
SciFact nDCG@10 within 0.005 and PolicyQA within 0.01 of torch.
Run: ``python bench/encoder_backends.py`` (about 25 minutes on 2 busy cores; ``--no-quality``: 3).
Results: bench/results/encoder_backends.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SHARED_DATA, percentile, write_result
from ingest.loaders import LoadError, load_document
from ingest.sources import discover
from rag.evaluation.datasets import load_dataset
from rag.evaluation.runner import evaluate
from rag.evaluation.session import prepare_version
from rag.settings import Settings
from rag.wiring import Services, build_services

WORK = ROOT / "bench" / ".work" / "encoders"
BACKENDS = ("torch", "onnx", "onnx-int8")


def _services(backend: str, threads: int | None) -> Services:
    settings = Settings(
        _env_file=None,
        data_dir=WORK / backend,
        worker_enabled=False,
        embedding_backend=backend,
        embedding_threads=threads,
        embedding_batching=False,
    )
    return build_services(settings)


def _handbook_chunks(services: Services, count: int) -> list[str]:
    """The embedded text of the first ``count`` chunks a build of the shared handbooks writes."""
    files, _ = discover(SHARED_DATA / "handbooks")
    texts: list[str] = []
    for entry in files:
        try:
            doc = load_document(entry.path, entry.name)
        except LoadError:
            continue
        texts.extend(c.embed_text for c in services.builder.chunker.chunk(doc))
        if len(texts) >= count:
            break
    return texts[:count]


def _questions(count: int) -> list[str]:
    lines = (SHARED_DATA / "policyqa-dev" / "queries.jsonl").read_text().splitlines()
    return [json.loads(line)["text"] for line in lines[:count]]


def _quality(services: Services, name: str) -> dict[str, Any]:
    """nDCG@10 of the product's retrieval on data set ``name``, built by ``services``' embedder."""
    data = load_dataset(SHARED_DATA / name, "beir" if name == "scifact" else "spans")
    start = time.perf_counter()
    version, built = prepare_version(services, data, f"eval-{name}")
    seconds = time.perf_counter() - start
    result = evaluate(
        services.assistant.retriever, version, data, refusal_threshold=services.settings.refusal_threshold
    )
    return {
        "ndcg@10": round(result.metrics["ndcg@10"], 4),
        "build_s": round(seconds, 1) if built else None,
        "chunks": version.manifest.chunk_count,
        "embedder": version.manifest.embedder.model_id,
    }


def _quality_only(args: argparse.Namespace) -> None:
    """The retrieval-quality part alone, for the chosen backends and data sets."""
    threads = args.threads if args.threads is not None else Settings(_env_file=None).embedding_threads
    out: dict[str, dict[str, Any]] = {}
    for b in args.backends:
        services = _services(b, threads)
        try:
            out[b] = {name: _quality(services, name) for name in args.sets}
        finally:
            services.close()
        print(b, out[b], flush=True)
    write_result("encoder_backends_quality", {"model_threads": threads, "quality": out})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="model threads (default: the product's setting)")
    parser.add_argument("--no-quality", action="store_true", help="skip the SciFact and PolicyQA builds")
    parser.add_argument("--quality-only", action="store_true", help="only the retrieval quality part")
    parser.add_argument("--sets", nargs="+", default=["scifact", "policyqa-dev"], help="quality data sets")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    args = parser.parse_args()
    if args.quality_only:
        _quality_only(args)
        return
    threads = args.threads if args.threads is not None else Settings(_env_file=None).embedding_threads
    services = {b: _services(b, threads) for b in BACKENDS}
    try:
        texts = _handbook_chunks(services["torch"], args.chunks)
        ids = {b: s.embedder.model_id for b, s in services.items()}
        rates: dict[str, list[float]] = {b: [] for b in BACKENDS}
        vectors: dict[str, np.ndarray] = {}
        size = services["torch"].embedder.batch_size
        for r in range(args.rounds):
            # interleaved batch by batch (order rotating), so load drifts hit every backend alike
            spent = dict.fromkeys(BACKENDS, 0.0)
            parts: dict[str, list[np.ndarray]] = {b: [] for b in BACKENDS}
            for n, i in enumerate(range(0, len(texts), size)):
                for b in BACKENDS[n % 3 :] + BACKENDS[: n % 3]:
                    start = time.perf_counter()
                    parts[b].append(services[b].embedder.encode_documents(texts[i : i + size]))
                    spent[b] += time.perf_counter() - start
            for b in BACKENDS:
                rates[b].append(len(texts) / spent[b])
                vectors[b] = np.concatenate(parts[b])
            print("round", r + 1, {b: round(rates[b][-1], 1) for b in BACKENDS}, "chunks/s", flush=True)
        latencies: dict[str, list[float]] = {b: [] for b in BACKENDS}
        for i, q in enumerate(_questions(args.questions)):
            for b in BACKENDS[i % 3 :] + BACKENDS[: i % 3]:
                start = time.perf_counter()
                services[b].embedder.encode_query(q)
                latencies[b].append((time.perf_counter() - start) * 1000)
        agreement = {
            b: {
                "mean": round(float(np.mean(np.sum(vectors[b] * vectors["torch"], axis=1))), 5),
                "min": round(float(np.min(np.sum(vectors[b] * vectors["torch"], axis=1))), 5),
            }
            for b in BACKENDS
        }
        quality: dict[str, dict[str, Any]] = {b: {} for b in BACKENDS}
        if not args.no_quality:
            for name in args.sets:
                for b in BACKENDS:
                    quality[b][name] = _quality(services[b], name)
                    print(b, name, quality[b][name], flush=True)
    finally:
        for s in services.values():
            s.close()
    torch_rate = statistics.median(rates["torch"])
    torch_p95 = percentile(latencies["torch"], 95)
    table: dict[str, dict[str, Any]] = {}
    for b in BACKENDS:
        rate = statistics.median(rates[b])
        p95 = percentile(latencies[b], 95)
        row: dict[str, Any] = {
            "embedder_id": ids[b],
            "chunks_per_s": round(rate, 1),
            "chunks_per_s_rounds": [round(x, 1) for x in rates[b]],
            "throughput_vs_torch": round(rate / torch_rate, 2),
            "question_p50_ms": round(percentile(latencies[b], 50), 2),
            "question_p95_ms": round(p95, 2),
            "question_p95_vs_torch": round(p95 / torch_p95, 2),
            "cosine_to_torch": agreement[b],
            **{f"{k}_ndcg@10": v["ndcg@10"] for k, v in quality[b].items()},
            "quality": quality[b],
        }
        if b != "torch":
            q_t, q_b = quality["torch"], quality[b]
            row["targets"] = {
                "throughput_1.4x": row["throughput_vs_torch"] >= 1.4,
                "question_p95_halved": row["question_p95_vs_torch"] <= 0.5,
                "cosine_0.99": agreement[b]["mean"] >= 0.99,
                **(
                    {
                        "scifact_within_0.005": abs(q_b["scifact"]["ndcg@10"] - q_t["scifact"]["ndcg@10"]) <= 0.005,
                        "policyqa_within_0.01": abs(q_b["policyqa-dev"]["ndcg@10"] - q_t["policyqa-dev"]["ndcg@10"])
                        <= 0.01,
                    }
                    if q_b and q_t
                    else {}
                ),
            }
        table[b] = row
    write_result(
        "encoder_backends",
        {
            "chunks": len(texts),
            "questions": args.questions,
            "rounds": args.rounds,
            "model_threads": threads,
            "backends": table,
        },
    )


if __name__ == "__main__":
    main()
