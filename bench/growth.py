"""How cost grows: the embedded engine (Qdrant Edge) at 50,000, 200,000 and 1,000,000 chunks.

The points are made as in the 50,000-point latency benchmark, without embedding a million texts:
the real chunks of a SciFact build by the product's default embedder (torch fp32; the ``eval-scifact``
index of ``--source``, about 10,000 chunks) plus perturbed copies of them: dense = real vector +
gaussian noise (sigma 0.02), renormalized; same text and BM25 vector; new uuid5 chunk ids; doc ids
suffixed ``#copyN``. Every point gets one of ten access groups (``team-0`` .. ``team-9``, point j
gets ``team-{j % 10}``), so a caller in one group may see a tenth of the index.

For each size and storage variant (``default``; ``int8``: ``RAG_VECTOR_QUANTIZATION=int8``;
``int8-disk``: that and ``RAG_VECTORS_ON_DISK=true``), two child processes:

1. **build**: a fresh data dir; the version is written through the engine (upsert time), sealed
   (flush + Edge's optimizers: optimize time), registered in the catalog with a manifest listing
   every (copied) document, and promoted; then its disk use (allocated bytes of the shard
   directory, the write-ahead log separately) and the build process's peak RSS.
2. **serve**: a process wired as ``rag serve`` wires itself (``build_services``; one model thread,
   as ``rag serve`` uses), which opens the version (time to open: the first read of the shard),
   resolves the alias (manifest), then answers SciFact test claims (``--questions``, default 100) with
   ``Assistant.ask`` (embedding, hybrid search, extractive answer, answer record: the work of
   ``POST /v1/ask`` without HTTP; the extractive answerer's optional semantic step off, as the
   earlier latency benchmarks ran: its cost does not depend on the index size) and runs
   ``engine.search`` alone with precomputed query vectors, each without and with an access-group
   filter (``team-3``), interleaved question by question after 20 warm-up questions; VmRSS after
   each stage and VmHWM at the end.

The page cache is warm when the serving process opens the version (it was just written).
Run: ``nice -n 10 python bench/growth.py --sizes 50000 200000 1000000``.
Results: bench/results/growth.json (one entry per size and variant, merged into the file).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import RESULTS, ROOT, SHARED_DATA, copied_chunk, percentile, write_result
from indexes.manifest import DocumentEntry, Manifest
from indexes.refs import IndexRef
from indexes.types import IndexPoint, SearchQuery
from rag.settings import Settings

WORK = ROOT / "bench" / ".work" / "growth"
SOURCE = ROOT / "bench" / ".work" / "growth-base" / "shard"
SOURCE_INDEX = "eval-scifact"
INDEX = "growth"
SIGMA = 0.02
GROUPS = 10
FILTER_GROUP = "team-3"
COPY_NAMESPACE = uuid.UUID("5d1f0a7e-2b8c-4c3e-9f61-0e7a4b2c9d13")
BATCH = 2048
WARMUP = 20
TOP_K = 5
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "int8": {"vector_quantization": "int8"},
    "int8-disk": {"vector_quantization": "int8", "vectors_on_disk": True},
}


def _settings(data_dir: Path, variant: str, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=data_dir,
        default_index=INDEX,
        auth_enabled=False,
        rate_limit=None,
        worker_enabled=False,
        **VARIANTS[variant],
        **extra,
    )


def _status() -> dict[str, float]:
    """VmRSS, VmHWM and the RSS split (anonymous memory, mapped files) of this process in MiB."""
    out: dict[str, float] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def _allocated(path: Path) -> int:
    """Bytes the files under ``path`` occupy on disk (allocated blocks, not apparent sizes)."""
    return sum(p.lstat().st_blocks * 512 for p in path.rglob("*") if p.is_file())


def _real_points(source: Path) -> tuple[list[IndexPoint], Manifest]:
    """The real points (ordered) and a manifest describing them.

    ``source`` is a data dir with a live ``eval-scifact`` version, or a copied Edge shard directory
    (a snapshot of a SciFact build, taken while it ran) whose manifest is taken from the data dir
    ``source.parent / "specs"`` (a small build with the same settings: embedder, BM25, chunker) and
    whose document list is made from its chunks.
    """
    if (source / "edge_config.json").exists():
        return _shard_points(source)
    from rag.registry import build_registry

    reg = build_registry(Settings(_env_file=None, data_dir=source))
    try:
        live = reg.registry.live_version(SOURCE_INDEX)
        if live is None:
            raise SystemExit(f"no live {SOURCE_INDEX} in {source}: run bench/encoder_backends.py --quality-only first")
        info = reg.catalog.get_version(SOURCE_INDEX, live)
        assert info is not None and info.manifest is not None
        points = list(reg.engine.iter_points(SOURCE_INDEX, live))
    finally:
        reg.engine.close()
    points.sort(key=lambda p: (p.chunk.doc_id, p.chunk.ordinal))
    return points, info.manifest


def _shard_points(shard_dir: Path) -> tuple[list[IndexPoint], Manifest]:
    import qdrant_edge as qe

    from indexes.edge_engine import _scroll

    shard = qe.EdgeShard.load(str(shard_dir))
    try:
        points = list(_scroll(shard))
    finally:
        shard.close()
    points.sort(key=lambda p: (p.chunk.doc_id, p.chunk.ordinal))
    _, specs = _real_points(shard_dir.parent / "specs")
    template = specs.documents[0]
    docs: dict[str, DocumentEntry] = {}
    for p in points:
        c = p.chunk
        entry = docs.get(c.doc_id)
        docs[c.doc_id] = template.model_copy(
            update={
                "doc_id": c.doc_id,
                "title": c.title,
                "source": c.source,
                "content_hash": c.content_hash,
                "chunk_count": 1 + (entry.chunk_count if entry else 0),
                "chars": max(c.end, entry.chars if entry else 0),
            }
        )
    return points, specs.model_copy(update={"documents": list(docs.values())})


def _batches(real: list[IndexPoint], total: int) -> Iterator[list[IndexPoint]]:
    """Point j is real point j % R (copy 0) or its perturbed copy number j // R, in batches of BATCH."""
    base = np.asarray([p.dense for p in real], dtype=np.float32)
    for lo in range(0, total, BATCH):
        hi = min(lo + BATCH, total)
        js = np.arange(lo, hi)
        rows = base[js % len(real)].copy()
        copies = js // len(real)
        rng = np.random.default_rng(lo)
        noise = rng.normal(0.0, SIGMA, size=rows.shape).astype(np.float32)
        rows[copies > 0] += noise[copies > 0]
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        out = []
        for k, j in enumerate(js.tolist()):
            src = real[j % len(real)]
            copy = j // len(real)
            chunk = copied_chunk(dataclasses.replace(src.chunk, groups=[f"team-{j % GROUPS}"]), copy, COPY_NAMESPACE)
            out.append(IndexPoint(chunk=chunk, dense=rows[k].tolist(), sparse=src.sparse))
        yield out


def _manifest(version: int, source: Manifest, real: list[IndexPoint], total: int, engine: str) -> Manifest:
    """A manifest listing every document of the synthetic corpus with its chunk count."""
    per_doc: dict[str, int] = {}
    for j in range(total):
        doc_id = real[j % len(real)].chunk.doc_id
        copy = j // len(real)
        key = doc_id if copy == 0 else f"{doc_id}#copy{copy}"
        per_doc[key] = per_doc.get(key, 0) + 1
    by_id = {d.doc_id: d for d in source.documents}
    docs = [
        by_id[key.split("#copy")[0]].model_copy(update={"doc_id": key, "chunk_count": count})
        for key, count in per_doc.items()
    ]
    return Manifest(
        index=INDEX,
        version=version,
        engine=engine,
        source=f"synthetic: {len(real)} real SciFact chunks + {total - len(real)} perturbed copies",
        created_at=datetime.now(UTC),
        embedder=source.embedder,
        sparse=source.sparse,
        chunker=source.chunker,
        documents=[DocumentEntry.model_validate(d.model_dump()) for d in docs],
        chunk_count=total,
        chunks_embedded=0,
    )


def build(size: int, variant: str, data_dir: Path, source: Path) -> dict[str, Any]:
    """Write, seal, register and promote a version of ``size`` points; seconds, bytes and MiB."""
    from rag.registry import build_registry

    real, source_manifest = _real_points(source)
    shutil.rmtree(data_dir, ignore_errors=True)
    reg = build_registry(_settings(data_dir, variant))
    try:
        version = reg.catalog.allocate_version(INDEX)
        reg.engine.create_version(INDEX, version, len(real[0].dense))
        upsert_s = 0.0
        start = time.perf_counter()
        for batch in _batches(real, size):
            t = time.perf_counter()
            reg.engine.upsert(INDEX, version, batch)
            upsert_s += time.perf_counter() - t
        upserted = time.perf_counter()
        reg.engine.seal(INDEX, version)
        sealed = time.perf_counter()
        count = reg.engine.count(INDEX, version)
        if count != size:
            raise RuntimeError(f"expected {size} points, found {count}")
        manifest = _manifest(version, source_manifest, real, size, reg.engine.name)
        reg.catalog.mark_ready(manifest)
        reg.registry.promote(INDEX, version)
        registered = time.perf_counter()
    finally:
        reg.engine.close()
    shard = data_dir / "shards" / INDEX / f"v{version:04d}"
    wal = shard / "wal"
    return {
        "real_chunks": len(real),
        "documents": len(manifest.documents),
        "upsert_s": round(upsert_s, 1),
        "generate_and_upsert_s": round(upserted - start, 1),
        "optimize_s": round(sealed - upserted, 1),
        "register_s": round(registered - sealed, 1),
        "disk_version_mb": round(_allocated(shard) / 2**20, 1),
        "disk_wal_mb": round(_allocated(wal) / 2**20, 1) if wal.exists() else 0.0,
        "build_peak_rss_mb": _status()["VmHWM"],
    }


def _claims() -> list[str]:
    lines = (SHARED_DATA / "scifact" / "queries.jsonl").read_text().splitlines()
    return [str(json.loads(line)["text"]) for line in lines if line.strip()]


def _stats(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2)}


def serve(variant: str, data_dir: Path, questions: int) -> dict[str, Any]:
    """Open the version as ``rag serve`` would and answer; latencies, open time and RSS per stage."""
    from ingest.sparse import SparseEncoder
    from rag.wiring import build_services

    rss: dict[str, float] = {"start": _status()["VmRSS"]}
    services = build_services(_settings(data_dir, variant, embedding_threads=1, extractive_semantic=False))
    try:
        rss["services"] = _status()["VmRSS"]
        version = services.registry.live_version(INDEX)
        assert version is not None
        start = time.perf_counter()
        services.engine.count(INDEX, version)  # the first read opens the shard
        open_s = time.perf_counter() - start
        rss["opened"] = _status()["VmRSS"]
        start = time.perf_counter()
        resolved = services.registry.resolve(IndexRef(INDEX))
        resolve_s = time.perf_counter() - start
        rss["resolved"] = _status()["VmRSS"]
        settings = services.settings
        sparse = SparseEncoder.from_spec(resolved.manifest.sparse)
        claims = _claims()[: WARMUP + questions]
        embedder = services.embedder
        queries = [
            SearchQuery(
                dense=embedder.encode_query(q).tolist(),
                sparse=sparse.encode_query(q),
                limit=TOP_K,
                mode=settings.retrieval_mode,
                fusion=settings.fusion,
                prefetch_limit=max(settings.prefetch_limit, TOP_K),
                rrf_k=settings.rrf_k,
            )
            for q in claims
        ]
        filtered = [dataclasses.replace(q, groups=[FILTER_GROUP]) for q in queries]
        ms: dict[str, list[float]] = {"search": [], "search_group": [], "ask": [], "ask_group": []}

        def one(i: int, keep: bool) -> None:
            steps: list[tuple[str, Callable[[], object]]] = [
                ("search", lambda: services.engine.search(INDEX, version, queries[i])),
                ("search_group", lambda: services.engine.search(INDEX, version, filtered[i])),
                ("ask", lambda: services.assistant.ask(claims[i], index=INDEX)),
                ("ask_group", lambda: services.assistant.ask(claims[i], index=INDEX, groups=[FILTER_GROUP])),
            ]
            for name, fn in steps[i % 4 :] + steps[: i % 4]:  # rotating order: load drifts hit all alike
                t = time.perf_counter()
                fn()
                if keep:
                    ms[name].append((time.perf_counter() - t) * 1000)

        for i in range(WARMUP):
            one(i, keep=False)
        for i in range(WARMUP, len(claims)):
            one(i, keep=True)
        hits = services.engine.search(INDEX, version, filtered[0])
        if any(FILTER_GROUP not in h.chunk.groups for h in hits):
            raise RuntimeError("the group filter let another group's chunk through")
        status = _status()
        rss["after_queries"] = status["VmRSS"]
        rss["after_queries_anon"] = status["RssAnon"]
        rss["after_queries_file"] = status["RssFile"]
        return {
            "questions": len(claims) - WARMUP,
            "open_s": round(open_s, 3),
            "resolve_s": round(resolve_s, 3),
            **{name: _stats(v) for name, v in ms.items()},
            "rss_mb": rss,
            "peak_rss_mb": status["VmHWM"],
        }
    finally:
        services.close()


def _child(step: str, size: int, variant: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one step in a fresh process (its RSS is its own) and return its JSON line."""
    cmd = [sys.executable, __file__, "--step", step, "--size", str(size), "--variant", variant]
    cmd += ["--source", str(args.source), "--questions", str(args.questions)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _merge(key: str, entry: dict[str, Any]) -> None:
    """Add one size/variant entry to bench/results/growth.json, keeping the others."""
    path = RESULTS / "growth.json"
    runs: dict[str, Any] = {}
    if path.exists():
        runs = dict(json.loads(path.read_text()).get("runs", {}))
    runs[key] = entry
    write_result("growth", {"runs": dict(sorted(runs.items()))})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 200_000, 1_000_000])
    parser.add_argument("--variants", nargs="+", default=["default"], choices=list(VARIANTS))
    parser.add_argument("--source", type=Path, default=SOURCE, help="data dir holding a torch eval-scifact build")
    parser.add_argument("--questions", type=int, default=100, help="SciFact claims asked after the warm-up")
    parser.add_argument("--keep", action="store_true", help="keep the built data dirs (default: delete each)")
    parser.add_argument("--step", choices=["build", "serve"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--variant", default="default", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        data_dir = WORK / f"{args.size}-{args.variant}"
        result = (
            build(args.size, args.variant, data_dir, args.source)
            if args.step == "build"
            else serve(args.variant, data_dir, args.questions)
        )
        print(json.dumps(result), flush=True)
        return
    for size in args.sizes:
        for variant in args.variants:
            load = os.getloadavg()[0]
            built = _child("build", size, variant, args)
            print(size, variant, "build", built, flush=True)
            served = _child("serve", size, variant, args)
            print(size, variant, "serve", served, flush=True)
            entry = {
                "size": size,
                "variant": variant,
                "settings": VARIANTS[variant],
                "build": built,
                "serve": served,
                "load_average_1m": {"start": round(load, 2), "end": round(os.getloadavg()[0], 2)},
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            _merge(f"{size:07d}-{variant}", entry)
            if not args.keep:
                shutil.rmtree(WORK / f"{size}-{variant}", ignore_errors=True)


if __name__ == "__main__":
    main()
