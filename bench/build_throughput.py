"""Build throughput: chunks per second of a full build against raw SentenceTransformer.encode.

Measures, in one run and on the same chunks:

- **pipeline**: ``services.builder.build("handbooks", <shared data>/handbooks, promote=True)``
  with default settings and a fresh data dir ``bench/.work/handbooks``; chunks/s =
  ``manifest.chunk_count`` / wall-clock seconds around ``build()``. Light timers around the
  stages (load, chunk, embed, sparse, upsert, seal) split the build's time; they cost well under
  1% and are listed under ``pipeline_breakdown_s``.
- **raw**: the exact embedded texts of the same chunks (re-chunked with the builder's chunker),
  embedded by ``embedder._model.encode(texts, batch_size=embedder.batch_size,
  normalize_embeddings=True)``; run before and after the pipeline, reported as the mean.

Target: pipeline / raw >= 0.9. When it is missed (or with ``--profile``), the script reports where
the extra time goes: the padded tokens the model runs when all chunks are encoded in one call vs
in the builder's 256-chunk calls (``encode`` sorts by length within a call only), a timed A/B/A/B
of the two on ``--ab-texts`` texts, and a cProfile of a build of ``--profile-files`` files.

Run: ``python bench/build_throughput.py`` (full corpus, 20-30 minutes on 2 CPU cores), or
``python bench/build_throughput.py --limit 40`` for a quick trial on the first 40 files, or
``python bench/build_throughput.py --profile-only`` for the profile alone (about 8 minutes).
Writes ``bench/results/build_throughput.json`` (``build_throughput_limit<N>.json`` with --limit,
``build_throughput_profile.json`` with --profile-only).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SHARED_DATA, timer, write_result
from ingest import build as build_module
from ingest.loaders import LoadError, load_document
from ingest.sources import SourceFile, discover
from ingest.sparse import SparseEncoder
from rag.settings import Settings
from rag.wiring import Services, build_services

WORK = ROOT / "bench" / ".work"
BUILDER_BATCH = 256  # Builder.upsert_batch: the builder embeds this many chunks per encode call


def _services(data_dir: Path) -> Services:
    """Default settings (no .env) over a fresh data dir."""
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    return build_services(Settings(_env_file=None, data_dir=data_dir))


def _source(files: list[SourceFile], limit: int | None, name: str) -> Path:
    """The handbooks folder, or a folder of symlinks to its first ``limit`` files."""
    root = SHARED_DATA / "handbooks"
    if limit is None:
        return root
    subset = WORK / name
    shutil.rmtree(subset, ignore_errors=True)
    for entry in files[:limit]:
        link = subset / entry.name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(entry.path.resolve())
    return subset


def _embed_texts(services: Services, source: Path) -> list[str]:
    """The embedded text of every chunk a build of ``source`` writes, in build order."""
    files, _ = discover(source)
    texts: list[str] = []
    seen: set[str] = set()
    for entry in files:
        try:
            doc = load_document(entry.path, entry.name)
        except LoadError:
            continue
        if doc.doc_id in seen:
            continue
        seen.add(doc.doc_id)
        texts.extend(c.embed_text for c in services.builder.chunker.chunk(doc))
    return texts


def _raw_encode(services: Services, texts: list[str], call_size: int | None = None) -> float:
    """Seconds to embed ``texts`` with the bare model, in one call or in calls of ``call_size``."""
    embedder = services.embedder
    step = call_size or len(texts)
    with timer() as elapsed:
        for lo in range(0, len(texts), step):
            embedder._model.encode(
                texts[lo : lo + step],
                batch_size=embedder.batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
    return elapsed[0]


@contextmanager
def _stage_timers(services: Services) -> Iterator[dict[str, float]]:
    """Accumulate seconds spent in each build stage by wrapping the stage functions."""
    totals: dict[str, float] = defaultdict(float)

    def wrap(stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[stage] += time.perf_counter() - start

        return timed

    builder, engine = services.builder, services.engine
    patches: list[tuple[Any, str, Any]] = [
        (build_module, "load_document", build_module.load_document),  # type: ignore[attr-defined]
        (SparseEncoder, "encode_document", SparseEncoder.encode_document),
    ]
    build_module.load_document = wrap("load", build_module.load_document)  # type: ignore[attr-defined]
    SparseEncoder.encode_document = wrap("sparse", SparseEncoder.encode_document)  # type: ignore[method-assign]
    for obj, attr, stage in (
        (builder.chunker, "chunk", "chunk"),
        (builder.embedder, "encode_documents", "embed"),
        (engine, "upsert", "upsert"),
        (engine, "seal", "seal"),
    ):
        setattr(obj, attr, wrap(stage, getattr(obj, attr)))
    try:
        yield totals
    finally:
        for owner, attr, original in patches:
            setattr(owner, attr, original)
        for obj in (builder.chunker, builder.embedder, engine):
            for attr in ("chunk", "encode_documents", "upsert", "seal"):
                obj.__dict__.pop(attr, None)


def _padded_tokens(services: Services, texts: list[str], call_size: int) -> int:
    """Tokens the model runs (padding included) when ``texts`` are encoded in calls of ``call_size``.

    SentenceTransformer.encode sorts each call's texts by character length (longest first) and
    pads every batch to its longest in tokens, so smaller calls mean more padding. Deterministic,
    unlike timings on a shared machine.
    """
    embedder = services.embedder
    limit, extra, size = embedder.max_seq_length, embedder.special_tokens, embedder.batch_size
    total = 0
    for lo in range(0, len(texts), call_size):
        part = sorted(texts[lo : lo + call_size], key=len, reverse=True)
        tokens = [min(embedder.count_tokens(t) + extra, limit) for t in part]
        for b in range(0, len(tokens), size):
            total += max(tokens[b : b + size]) * len(tokens[b : b + size])
    return total


def _profile(services: Services, source: Path, files: int, texts: list[str], ab_texts: int) -> dict[str, Any]:
    """Where the pipeline's extra time goes.

    Padding of one encode call vs the builder's 256-chunk calls over all ``texts``; timed A/B/A/B
    of the two on the first ``ab_texts`` texts; a cProfile of a build of the first ``files`` files.
    """
    padded = {
        "real": _padded_tokens(services, texts, 1),
        "one_call": _padded_tokens(services, texts, len(texts)),
        "builder_256_chunk_calls": _padded_tokens(services, texts, BUILDER_BATCH),
    }
    sample = texts[:ab_texts]
    one_call: list[float] = []
    sliced: list[float] = []
    for _ in range(2):
        one_call.append(round(_raw_encode(services, sample), 2))
        sliced.append(round(_raw_encode(services, sample, BUILDER_BATCH), 2))
    all_files, _ = discover(source)
    subset = _source(all_files, files, "profile-subset")
    profiler = cProfile.Profile()
    with timer() as elapsed:
        profiler.enable()
        result = services.builder.build("profile", subset, promote=False)
        profiler.disable()
    stats = pstats.Stats(profiler)
    wanted = {
        "load_document": "load",
        "chunk": "chunk",
        "encode_documents": "embed",
        "encode_document": "sparse",
        "upsert": "upsert",
        "seal": "seal",
        "_reusable_vectors": "parent vectors",
    }
    cumulative: dict[str, float] = {}
    rows = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in rows.items():
        stage = wanted.get(func)
        if stage and ("ingest" in filename or "indexes" in filename):
            cumulative[stage] = max(cumulative.get(stage, 0.0), round(ct, 3))
    top = sorted(rows.items(), key=lambda kv: kv[1][2], reverse=True)[:12]
    return {
        "files": files,
        "chunks": result.manifest.chunk_count,
        "build_s_under_profiler": round(elapsed[0], 2),
        "padded_tokens_all_chunks": {
            **padded,
            "builder_over_one_call": round(padded["builder_256_chunk_calls"] / padded["one_call"], 3),
        },
        "ab_texts": len(sample),
        "ab_raw_one_call_s": one_call,
        "ab_raw_in_256_chunk_calls_s": sliced,
        "ab_sliced_over_one_call": round(sum(sliced) / sum(one_call), 3),
        "cumulative_s_by_stage": cumulative,
        "top_self_time_s": [
            {"function": f"{Path(fn).name}:{line}:{name}", "self_s": round(tt, 3)}
            for (fn, line, name), (_cc, _nc, tt, _ct, _callers) in top
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N files (quick trial)")
    parser.add_argument("--profile-files", type=int, default=60, help="files in the profiled subset")
    parser.add_argument("--profile", action="store_true", help="profile even when the target is met")
    parser.add_argument("--ab-texts", type=int, default=1536, help="texts in the timed one-call/sliced A/B")
    parser.add_argument(
        "--profile-only", action="store_true", help="only the profile (padding, A/B, cProfile), no full build"
    )
    args = parser.parse_args()

    import torch

    load_before = os.getloadavg()
    handbooks = SHARED_DATA / "handbooks"
    files, _ = discover(handbooks)
    if args.profile_only:
        services = _services(WORK / "build-profile")
        try:
            texts = _embed_texts(services, handbooks)
            services.embedder._model.encode(texts[:64], batch_size=services.embedder.batch_size)  # warm-up
            profile: dict[str, Any] | None = _profile(services, handbooks, args.profile_files, texts, args.ab_texts)
        finally:
            services.close()
        load = {"start": round(load_before[0], 2), "end": round(os.getloadavg()[0], 2)}
        write_result("build_throughput_profile", {"chunks": len(texts), "profile": profile, "load_average_1m": load})
        return
    source = _source(files, args.limit, "handbooks-subset")
    data_dir = WORK / ("handbooks" if args.limit is None else "handbooks-limit")
    services = _services(data_dir)
    try:
        texts = _embed_texts(services, source)
        services.embedder._model.encode(texts[:64], batch_size=services.embedder.batch_size)  # warm-up
        raw_before = _raw_encode(services, texts)
        with _stage_timers(services) as stages, timer() as elapsed:
            result = services.builder.build("handbooks", source, promote=True)
        build_s = elapsed[0]
        raw_after = _raw_encode(services, texts)
        manifest = result.manifest
        chunks = manifest.chunk_count
        raw_s = statistics.mean([raw_before, raw_after])
        ratio = (chunks / build_s) / (len(texts) / raw_s)
        breakdown = {k: round(v, 2) for k, v in sorted(stages.items())}
        breakdown["other"] = round(build_s - sum(stages.values()), 2)
        profile = None
        if ratio < 0.9 or args.profile:
            profile = _profile(services, handbooks, args.profile_files, texts, args.ab_texts)
    finally:
        services.close()

    write_result(
        "build_throughput" if args.limit is None else f"build_throughput_limit{args.limit}",
        {
            "source": "../shared/data/handbooks" + ("" if args.limit is None else f" (first {args.limit} files)"),
            "files": len(files) if args.limit is None else min(args.limit, len(files)),
            "documents": len(manifest.documents),
            "errors": len(manifest.errors),
            "chunks": chunks,
            "raw_texts": len(texts),
            "torch_threads": torch.get_num_threads(),
            "embedding_batch_size": services.embedder.batch_size,
            "pipeline_s": round(build_s, 2),
            "pipeline_chunks_per_s": round(chunks / build_s, 2),
            "raw_s": {"before": round(raw_before, 2), "after": round(raw_after, 2), "mean": round(raw_s, 2)},
            "raw_chunks_per_s": round(len(texts) / raw_s, 2),
            "ratio_pipeline_over_raw": round(ratio, 3),
            "target_ratio": 0.9,
            "target_met": ratio >= 0.9,
            "manifest_timings_ms": manifest.timings_ms,
            "pipeline_breakdown_s": breakdown,
            "profile": profile,
            "load_average_1m": {"start": round(load_before[0], 2), "end": round(os.getloadavg()[0], 2)},
        },
    )


if __name__ == "__main__":
    main()
