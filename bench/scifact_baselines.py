"""Checks the evaluation code against SciFact's published baselines, then scores the product's settings.

Published nDCG@10 (../shared/data/scifact/README.txt): all-MiniLM-L6-v2 dense 0.645 (MTEB), BM25
0.665 (BEIR paper; 0.679 Anserini flat). Those systems index each abstract whole (title and
text; the dense model truncates at its 256-token limit), so the check builds the corpus the same
way: one unsplit chunk per abstract, embedded by sentence-transformers with its own truncation,
BM25 (k1 1.2, b 0.75) over the full text. Targets: dense within 0.01 of 0.645, BM25 within 0.02
of 0.665. The same version is then searched with hybrid fusion, and the product's own chunked
build (``rag eval``, default settings) is reported next to it.
Run: ``python bench/scifact_baselines.py`` (two builds of 5,183 abstracts: about 15 minutes on 2 cores).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SHARED_DATA, write_result
from indexes.refs import IndexRef
from ingest.build import Builder
from ingest.chunking import Chunker
from rag.evaluation.datasets import load_dataset
from rag.evaluation.report import markdown_table
from rag.evaluation.runner import EvalResult, evaluate
from rag.evaluation.session import prepare_version
from rag.settings import Settings
from rag.wiring import build_services

WORK = ROOT / "bench" / ".work" / "eval" / "data"  # shared with `rag eval` runs: eval-scifact is reused
PUBLISHED = {"dense": 0.645, "sparse": 0.665}
TOLERANCE = {"dense": 0.01, "sparse": 0.02}


def main() -> None:
    data = load_dataset(SHARED_DATA / "scifact", "beir")
    services = build_services(Settings(_env_file=None, data_dir=WORK, worker_enabled=False))
    try:
        whole = Chunker(services.embedder.count_tokens, max_tokens=1_000_000, overlap_tokens=0, embed_headings=True)
        builder = Builder(services.catalog, services.engine, services.registry, services.embedder, whole)
        if services.registry.live_version("scifact-whole") is None:
            builder.build("scifact-whole", documents=data.documents, promote=True, mode="full")
        unsplit = services.registry.resolve(IndexRef("scifact-whole"))
        chunked, _ = prepare_version(services, data, "eval-scifact")
        base = services.assistant.retriever
        threshold = services.settings.refusal_threshold
        runs: dict[str, EvalResult] = {}
        for name, version, retriever in (
            ("whole_dense", unsplit, base.configured(mode="dense")),
            ("whole_sparse", unsplit, base.configured(mode="sparse")),
            ("whole_hybrid_rrf", unsplit, base.configured(mode="hybrid", fusion="rrf")),
            ("whole_hybrid_dbsf", unsplit, base.configured(mode="hybrid", fusion="dbsf")),
            ("chunked_dense", chunked, base.configured(mode="dense")),
            ("chunked_sparse", chunked, base.configured(mode="sparse")),
            ("chunked_hybrid_rrf", chunked, base.configured(mode="hybrid", fusion="rrf")),
            ("chunked_hybrid_dbsf", chunked, base.configured(mode="hybrid", fusion="dbsf")),
        ):
            runs[name] = evaluate(retriever, version, data, refusal_threshold=threshold)
            print(name, runs[name].metrics, flush=True)
    finally:
        services.close()
    checks = {
        mode: {
            "published": PUBLISHED[mode],
            "measured": runs[f"whole_{mode}"].metrics["ndcg@10"],
            "within": TOLERANCE[mode],
            "reproduced": abs(runs[f"whole_{mode}"].metrics["ndcg@10"] - PUBLISHED[mode]) <= TOLERANCE[mode],
        }
        for mode in ("dense", "sparse")
    }
    write_result(
        "scifact_baselines",
        {
            "source": "../shared/data/scifact (BEIR test split, 300 queries)",
            "reproduction": checks,
            "runs": {name: r.model_dump(exclude={"per_query"}) for name, r in runs.items()},
            "markdown_whole": markdown_table([runs[n] for n in runs if n.startswith("whole")]),
            "markdown_chunked": markdown_table([runs[n] for n in runs if n.startswith("chunked")]),
        },
    )


if __name__ == "__main__":
    main()
