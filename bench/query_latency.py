"""Query latency at 50,000 chunks: search, retrieval and POST /v1/ask on Qdrant Edge, vs local mode.

The 50,000-point index ``bench50k`` is made without embedding 50,000 texts: the ~7,000 real
points of a handbooks build (``bench/.work/handbooks``, built first if missing) plus perturbed
copies of them (~43,000 points): dense = real vector + gaussian noise (sigma 0.02), renormalized;
same text and sparse vector; new uuid5 chunk ids; doc ids suffixed ``#copyN``. The version is
written through the engine interface, registered in the catalog with a manifest and promoted,
so the normal ask path resolves it.

Measured with 200 questions (the sample golden and unanswerable sets plus generic policy
questions), after 20 warm-up queries:

- (a) ``engine.search`` alone with a precomputed hybrid SearchQuery (limit 5),
- (b) ``assistant.retriever.search`` (embeds the question, then searches),
- (c) ``POST /v1/ask`` over HTTP (extractive answerer, uvicorn on 127.0.0.1), client-side, and
  ``registry.resolve`` alone (alias -> version -> manifest, the step of an ask before retrieval),
- (a) and (b) again on qdrant-client's local mode (``QdrantServerEngine(QdrantClient(":memory:"))``)
  holding the same 50,000 points, after all Edge measurements (see the comment in ``main``),
- (d) the resident memory (VmRSS) of a separate ``rag serve`` process after 50 asks.

Targets: retrieval p95 <= 30 ms, ask p95 <= 100 ms on Edge.
Edge figures are the median over ``--rounds`` rounds (default 3) of each round's p50 and p95.
Run: ``python bench/query_latency.py`` (about 20 minutes on 2 CPU cores, mostly local mode).
Writes ``bench/results/query_latency.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SHARED_DATA, copied_chunk, percentile, write_result
from indexes.engine import VectorEngine
from indexes.manifest import DocumentEntry, Manifest
from indexes.refs import IndexRef
from indexes.types import IndexPoint, SearchQuery
from indexes.versions import ResolvedVersion
from ingest.sparse import SparseEncoder
from rag.retrieval import Retriever
from rag.settings import Settings
from rag.wiring import Services, build_services

WORK = ROOT / "bench" / ".work"
INDEX = "bench50k"
TOTAL = 50_000
SIGMA = 0.02
COPY_NAMESPACE = uuid.UUID("0b9a3c52-5f0e-4d8e-9a43-5c1d2b7e6f10")
GOLDEN = ROOT / "ingest" / "sample_handbook_golden"
WARMUP = 20
RSS_ASKS = 50
TOP_K = 5

GENERIC = [
    "How many days of annual leave do employees get?",
    "Can I carry over unused vacation days?",
    "What is the parental leave policy?",
    "How do I report a security incident?",
    "What are the password requirements?",
    "How do I get reimbursed for travel expenses?",
    "What is the per diem for meals when travelling?",
    "Can I work remotely from another country?",
    "Who approves my time off requests?",
    "What is the policy on sick leave?",
    "How long is bereavement leave?",
    "What should I do if I lose my laptop?",
    "Are employees allowed to use personal devices for work?",
    "How is sensitive customer data classified?",
    "What is the code of conduct about harassment?",
    "How do I request access to a production system?",
    "What happens during a background check?",
    "How do I book a flight for a business trip?",
    "Is there a budget for home office equipment?",
    "What is the policy on accepting gifts from vendors?",
    "How do I file an expense report?",
    "What holidays does the company observe?",
    "Can I take unpaid leave?",
    "What is FMLA and am I eligible?",
    "How do I enable two-factor authentication?",
    "What is the acceptable use policy for company equipment?",
    "How long is customer data retained?",
    "Who do I contact about a data breach?",
    "How are on-call shifts compensated?",
    "What is the process for offboarding an employee?",
    "Can I expense a conference ticket?",
    "What training is required for new employees?",
    "How do I report a phishing email?",
    "What is the policy for jury duty?",
    "How many hours is a standard work week?",
    "Do contractors follow the same security policy?",
    "What is the rule on sharing confidential information?",
    "How do I change my benefits enrollment?",
    "Is there a policy on working overtime?",
    "How do I request a new software license?",
    "What is the travel policy for international trips?",
    "Can I use a personal credit card for business expenses?",
    "What are the rules for rental cars on business travel?",
    "How do I get a hotel approved?",
    "What should I do before travelling abroad with a laptop?",
    "What is the policy on encryption of laptops?",
    "How often must I rotate my passwords?",
    "Who can access employee personnel records?",
    "How do I request military leave?",
    "What is the policy on voting leave?",
    "How does the company handle performance reviews?",
    "What is the process to raise an ethics concern?",
    "Are there rules about political activity at work?",
    "What is the policy on alcohol at company events?",
    "How do I get a new laptop when mine is old?",
    "Can I install open source software on my work computer?",
    "What is the vulnerability disclosure process?",
    "How are access rights reviewed?",
    "What is the retention period for email?",
    "How do I take time off for a medical appointment?",
]


def _questions() -> list[str]:
    """200 questions: the golden and unanswerable sets, then generic policy questions."""
    found: list[str] = []
    for name in ("golden.jsonl", "unanswerable.jsonl"):
        for line in (GOLDEN / name).read_text().splitlines():
            if line.strip():
                found.append(str(json.loads(line)["question"]))
    return (found + GENERIC)[:200]


def _settings(data_dir: Path, **extra: Any) -> Settings:
    # The benchmark measures the query path; API keys and rate limits (issue 5) are off here.
    extra = {"auth_enabled": False, "rate_limit": None, **extra}
    return Settings(_env_file=None, data_dir=data_dir, **extra)


def _real_points(data_dir: Path) -> tuple[list[IndexPoint], Manifest, Services]:
    """The live handbooks version's points and manifest (built first if missing); services stay open."""
    # No model worker here: the embedder outlives these services (the measured services wrap it in
    # their own worker), and a worker would stop with them.
    services = build_services(_settings(data_dir, embedding_batching=False))
    live = services.registry.live_version("handbooks")
    if live is None:
        services.builder.build("handbooks", SHARED_DATA / "handbooks", promote=True)
        live = services.registry.live_version("handbooks")
    assert live is not None
    info = services.catalog.get_version("handbooks", live)
    assert info is not None and info.manifest is not None
    points = list(services.engine.iter_points("handbooks", live))
    points.sort(key=lambda p: (p.chunk.doc_id, p.chunk.ordinal))
    return points, info.manifest, services


def _dense_matrix(real: list[IndexPoint], total: int) -> npt.NDArray[np.float32]:
    """Row j: the real vector of point j % R, perturbed (and renormalized) for copies j >= R."""
    base = np.asarray([p.dense for p in real], dtype=np.float32)
    rng = np.random.default_rng(20240601)
    rows = np.resize(base, (total, base.shape[1]))  # repeats the real rows in order
    rows[len(real) :] += rng.normal(0.0, SIGMA, size=(total - len(real), base.shape[1])).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def _points(real: list[IndexPoint], dense: npt.NDArray[np.float32], batch: int = 2048) -> Iterator[list[IndexPoint]]:
    """One point per row of ``dense``, in batches: copy 0 is the real point, copy N >= 1 a perturbed one."""
    total = len(dense)
    for lo in range(0, total, batch):
        out = []
        for j in range(lo, min(lo + batch, total)):
            src = real[j % len(real)]
            copy = j // len(real)
            chunk = copied_chunk(src.chunk, copy, COPY_NAMESPACE)
            out.append(IndexPoint(chunk=chunk, dense=dense[j].tolist(), sparse=src.sparse))
        yield out


def _fill(
    engine: VectorEngine, version: int, real: list[IndexPoint], dense: npt.NDArray[np.float32]
) -> dict[str, float]:
    """Create, upsert and seal ``bench50k`` version ``version``; seconds per step."""
    engine.create_version(INDEX, version, dense.shape[1])
    start = time.perf_counter()
    for batch in _points(real, dense):
        engine.upsert(INDEX, version, batch)
    upserted = time.perf_counter()
    engine.seal(INDEX, version)
    sealed = time.perf_counter()
    count = engine.count(INDEX, version)
    if count != len(dense):
        raise RuntimeError(f"{engine.name}: expected {len(dense)} points, found {count}")
    return {"upsert_s": round(upserted - start, 2), "seal_s": round(sealed - upserted, 2)}


def _register(
    services: Services,
    version: int,
    source: Manifest,
    real: list[IndexPoint],
    total: int,
    times: dict[str, float],
) -> None:
    """Mark the version ready with a manifest describing the synthetic corpus, and promote it."""
    copies = -(-total // len(real))
    docs = []
    for copy in range(copies):
        for d in source.documents:
            docs.append(d if copy == 0 else d.model_copy(update={"doc_id": f"{d.doc_id}#copy{copy}"}))
    per_doc: dict[str, int] = {}
    for j in range(total):
        doc_id = real[j % len(real)].chunk.doc_id
        copy = j // len(real)
        key = doc_id if copy == 0 else f"{doc_id}#copy{copy}"
        per_doc[key] = per_doc.get(key, 0) + 1
    docs = [
        DocumentEntry.model_validate({**d.model_dump(), "chunk_count": per_doc[d.doc_id]})
        for d in docs
        if d.doc_id in per_doc
    ]
    manifest = Manifest(
        index=INDEX,
        version=version,
        engine=services.engine.name,
        source=f"synthetic: {len(real)} real handbooks chunks + {total - len(real)} perturbed copies",
        created_at=datetime.now(UTC),
        embedder=source.embedder,
        sparse=source.sparse,
        chunker=source.chunker,
        documents=docs,
        chunk_count=total,
        chunks_embedded=0,
        timings_ms={k.removesuffix("_s"): round(v * 1000, 1) for k, v in times.items()},
    )
    services.catalog.mark_ready(manifest)
    services.registry.promote(INDEX, version)


def _stats(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "mean_ms": round(sum(ms) / len(ms), 2),
    }


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _measure(
    engine: VectorEngine,
    retriever: Retriever,
    version: ResolvedVersion,
    questions: list[str],
    queries: list[SearchQuery],
) -> dict[str, list[float]]:
    """Milliseconds of ``engine.search`` and ``retriever.search`` per question, after a warm-up."""
    for q, query in zip(questions[:WARMUP], queries[:WARMUP], strict=True):
        engine.search(version.index, version.version, query)
        retriever.search(version, q, TOP_K)
    ms: dict[str, list[float]] = {"search": [], "retrieval": []}
    for q, query in zip(questions, queries, strict=True):

        def search(query: SearchQuery = query) -> object:
            return engine.search(version.index, version.version, query)

        def retrieve(q: str = q) -> object:
            return retriever.search(version, q, TOP_K)

        ms["search"].append(_timed(search))
        ms["retrieval"].append(_timed(retrieve))
    return ms


def _serve_in_thread(services: Services) -> tuple[Any, threading.Thread, int]:
    """Start the app over ``services`` with uvicorn on 127.0.0.1 and a free port."""
    import uvicorn

    from api.app import create_app

    app = create_app(services.settings, services_factory=lambda _settings: services)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    port = int(server.servers[0].sockets[0].getsockname()[1])
    return server, thread, port


def _ask_all(port: int, questions: list[str]) -> tuple[list[float], int]:
    """Sequential asks; client-side milliseconds and how many were refused."""
    ms: list[float] = []
    refused = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        for q in questions:
            start = time.perf_counter()
            response = client.post("/v1/ask", json={"question": q})
            ms.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
            refused += bool(response.json()["refused"])
    return ms, refused


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_process_rss(data_dir: Path, questions: list[str]) -> dict[str, Any]:
    """RSS of a separate ``rag serve`` process over the bench data dir after ``RSS_ASKS`` asks."""
    port = _free_port()
    env = {
        **os.environ,
        "RAG_DATA_DIR": str(data_dir),
        "RAG_DEFAULT_INDEX": INDEX,
        "RAG_AUTH_ENABLED": "false",
        "RAG_RATE_LIMIT": "",
    }
    cmd = [sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        started = time.perf_counter()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"rag serve exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}"
                    )
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.perf_counter() - started > 180:
                    raise RuntimeError("rag serve not ready after 180 s")
                time.sleep(0.25)
            ready_s = time.perf_counter() - started
            rss_ready = _status(proc.pid)
            for q in questions[:RSS_ASKS]:
                response = client.post("/v1/ask", json={"question": q})
                if response.status_code != 200:
                    raise RuntimeError(f"rag serve answered {response.status_code}: {response.text}")
        status = _status(proc.pid)
        return {
            "ready_after_s": round(ready_s, 1),
            "rss_ready_mb": rss_ready["VmRSS"],
            "rss_after_asks_mb": status["VmRSS"],
            "peak_rss_mb": status["VmHWM"],
            "asks": RSS_ASKS,
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process in MiB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def _rounds(per_round: list[list[float]]) -> dict[str, Any]:
    """Median over rounds of each round's p50 and p95 (robust to a noisy round), and every round."""
    rounds = [_stats(ms) for ms in per_round]
    return {
        "p50_ms": round(statistics.median(r["p50_ms"] for r in rounds), 2),
        "p95_ms": round(statistics.median(r["p95_ms"] for r in rounds), 2),
        "rounds": rounds,
    }


def _ratios(local: dict[str, Any], edge: dict[str, Any]) -> dict[str, float]:
    return {f"ratio_local_over_edge_{p}": round(local[f"{p}_ms"] / edge[f"{p}_ms"], 1) for p in ("p50", "p95")}


def main() -> None:
    import torch
    from qdrant_client import QdrantClient

    from indexes.server_engine import QdrantServerEngine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=TOTAL, help="points in the index (quick trials: fewer)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the 200 questions on Edge")
    parser.add_argument(
        "--handbooks-dir", type=Path, default=WORK / "handbooks", help="data dir holding a handbooks build"
    )
    parser.add_argument(
        "--edge-only", action="store_true", help="skip local mode and the RSS process (quick Edge re-measure)"
    )
    args = parser.parse_args()
    total: int = args.total

    load_before = os.getloadavg()
    questions = _questions()
    real, source_manifest, handbooks = _real_points(args.handbooks_dir)
    embedder = handbooks.embedder
    handbooks.close()  # releases the handbooks shard; the embedder stays loaded
    dense = _dense_matrix(real, total)
    threads = torch.get_num_threads()

    data_dir = WORK / INDEX
    shutil.rmtree(data_dir, ignore_errors=True)
    services = build_services(_settings(data_dir, default_index=INDEX), embedder=embedder)
    local = QdrantServerEngine(QdrantClient(":memory:"))
    edge: dict[str, list[list[float]]] = {
        "search": [],
        "retrieval": [],
        "retrieval_1_thread": [],
        "resolve": [],
        "ask": [],
    }
    refused: list[int] = []
    try:
        version = services.catalog.allocate_version(INDEX)
        edge_times = _fill(services.engine, version, real, dense)
        _register(services, version, source_manifest, real, total, edge_times)
        resolved = services.registry.resolve(IndexRef(INDEX))
        settings = services.settings
        sparse = SparseEncoder.from_spec(resolved.manifest.sparse)
        queries = [
            SearchQuery(
                dense=embedder.encode_query(q).tolist(),
                sparse=sparse.encode_query(q),
                limit=TOP_K,
                mode="hybrid",
                prefetch_limit=max(settings.prefetch_limit, TOP_K),
                rrf_k=settings.rrf_k,
            )
            for q in questions
        ]

        # Edge first, local mode after: local mode's numpy matrix-vector products wake OpenBLAS's
        # threads, which then compete with torch's threads for the 2 cores (measured: interleaving
        # the two engines query by query doubles Edge's retrieval p50).
        server, thread, port = _serve_in_thread(services)
        try:
            _ask_all(port, questions[:WARMUP])
            for _ in range(args.rounds):
                measured = _measure(services.engine, services.assistant.retriever, resolved, questions, queries)
                edge["search"].append(measured["search"])
                edge["retrieval"].append(measured["retrieval"])
                torch.set_num_threads(1)
                try:
                    single = _measure(services.engine, services.assistant.retriever, resolved, questions, queries)
                finally:
                    torch.set_num_threads(threads)
                edge["retrieval_1_thread"].append(single["retrieval"])
                edge["resolve"].append([_timed(lambda: services.registry.resolve(IndexRef(INDEX))) for _ in questions])
                ask_ms, n_refused = _ask_all(port, questions)
                edge["ask"].append(ask_ms)
                refused.append(n_refused)
            edge_top1 = [services.engine.search(INDEX, version, q)[0].chunk for q in queries]
        finally:
            server.should_exit = True
            thread.join(timeout=30)

        if args.edge_only:
            summary = {k: _rounds(v) for k, v in edge.items()}
            write_result(
                "query_latency_edge",
                {
                    "index": f"{INDEX}: {total} points ({len(real)} real + {total - len(real)} perturbed copies)",
                    "questions": len(questions),
                    "edge_rounds": args.rounds,
                    "search_only": summary["search"],
                    "retrieval": summary["retrieval"],
                    "resolve_alias_and_manifest": summary["resolve"],
                    "ask_http_edge": {**summary["ask"], "refused_per_round": refused},
                    "targets": {
                        "retrieval_p95_le_30ms": summary["retrieval"]["p95_ms"] <= 30,
                        "ask_p95_le_100ms": summary["ask"]["p95_ms"] <= 100,
                    },
                    "load_average_1m": {"start": round(load_before[0], 2), "end": round(os.getloadavg()[0], 2)},
                },
            )
            return
        local_times = _fill(local, version, real, dense)
        local_retriever = Retriever(
            local,
            services.embedders,
            mode=settings.retrieval_mode,
            prefetch_limit=settings.prefetch_limit,
            rrf_k=settings.rrf_k,
        )
        local_resolved = ResolvedVersion(index=INDEX, alias=None, version=version, manifest=resolved.manifest)
        local_ms = _measure(local, local_retriever, local_resolved, questions, queries)
        top1 = list(zip(edge_top1, (local.search(INDEX, version, q)[0].chunk for q in queries), strict=True))
        same_chunk = sum(e.chunk_id == m.chunk_id for e, m in top1)
        same_doc = sum(e.doc_id.split("#copy")[0] == m.doc_id.split("#copy")[0] for e, m in top1)
    finally:
        local.close()
        services.close()  # the app's lifespan closed it already; this is for early failures
    rss = _serve_process_rss(data_dir, questions)

    summary = {k: _rounds(v) for k, v in edge.items()}
    local_search, local_retrieval = _stats(local_ms["search"]), _stats(local_ms["retrieval"])
    write_result(
        "query_latency" if total == TOTAL else f"query_latency_{total}",
        {
            "index": f"{INDEX}: {total} points = {len(real)} real handbooks chunks + "
            f"{total - len(real)} perturbed copies (dense + N(0, {SIGMA}) renormalized, same text, sparse)",
            "real_points": len(real),
            "perturbed_copies": total - len(real),
            "questions": len(questions),
            "warmup": WARMUP,
            "edge_rounds": args.rounds,
            "top_k": TOP_K,
            "mode": "hybrid",
            "torch_threads": threads,
            "edge_write": edge_times,
            "local_mode_write": local_times,
            "search_only": {
                "edge": summary["search"],
                "local_mode": local_search,
                **_ratios(local_search, summary["search"]),
            },
            "retrieval": {
                "edge": summary["retrieval"],
                "edge_torch_1_thread": summary["retrieval_1_thread"],
                "local_mode": local_retrieval,
                **_ratios(local_retrieval, summary["retrieval"]),
            },
            "top1_agreement_edge_vs_local": {"same_chunk": same_chunk, "same_source_document": same_doc},
            "resolve_alias_and_manifest": {
                **summary["resolve"],
                "manifest_bytes": len(resolved.manifest.model_dump_json()),
                "manifest_documents": len(resolved.manifest.documents),
            },
            "ask_http_edge": {**summary["ask"], "refused_per_round": refused},
            "targets": {
                "retrieval_p95_le_30ms": summary["retrieval"]["p95_ms"] <= 30,
                "ask_p95_le_100ms": summary["ask"]["p95_ms"] <= 100,
            },
            "serve_process": rss,
            "load_average_1m": {"start": round(load_before[0], 2), "end": round(os.getloadavg()[0], 2)},
        },
    )


if __name__ == "__main__":
    main()
