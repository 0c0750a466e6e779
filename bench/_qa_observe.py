"""Runs one checkout of the project over a question set and writes what it answered (raw, unscored).

Run by bench/handbook_qa.py with PYTHONPATH naming the checkout under test, so the same driver
observes today's code and an older commit alike. It uses only interfaces both have: the settings,
the composition root, the builder, ``Assistant.ask`` and ``Retriever.search``. Scoring happens in
the caller, with the current code's scorer, so both systems are judged by the same rules.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from indexes.refs import IndexRef
from rag.settings import Settings
from rag.wiring import build_services


def main() -> None:
    """Build the corpus into a fresh data folder, then ask every question; write JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=Path, required=True, help="questions.jsonl")
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir, golden_set=None)
    services = build_services(settings)
    try:
        started = time.perf_counter()
        result = services.builder.build("handbooks", source=args.corpus, mode="full", promote=True)
        build_s = time.perf_counter() - started
        version = services.registry.resolve(IndexRef("handbooks"))
        ref = f"handbooks@{version.version}"
        observed = []
        for line in args.questions.read_text().splitlines():
            if not line.strip():
                continue
            q = json.loads(line)
            t0 = time.perf_counter()
            record = services.assistant.ask(q["question"], index=ref)
            latency = (time.perf_counter() - t0) * 1000
            hits = services.assistant.retriever.search(version, q["question"], 10) if q["answerable"] else []
            observed.append(
                {
                    "id": q["id"],
                    "answer": record.answer,
                    "refused": record.refused,
                    "cited": [c.source for c in record.citations],
                    "top": [(h.chunk.source, h.chunk.text) for h in hits],
                    "latency_ms": latency,
                }
            )
        args.out.write_text(
            json.dumps(
                {
                    "build_s": build_s,
                    "chunks": result.manifest.chunk_count,
                    "documents": len(result.manifest.documents),
                    "redactions": result.manifest.redactions,
                    "refusal": result.manifest.model_dump(mode="json").get("refusal"),
                    "observed": observed,
                }
            )
        )
    finally:
        services.close()


if __name__ == "__main__":
    main()
