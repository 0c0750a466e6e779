"""Canary analysis: what its bookkeeping adds to POST /v1/ask, and how soon a worse canary is removed.

Part 1, overhead. Three variants of ``rag serve`` (bench/ask_load.py's server and closed-loop load,
auth and rate limit off), interleaved over ``--rounds`` on the same data, at ``--clients`` clients:

All variants answer by words only (``RAG_EXTRACTIVE_SEMANTIC=false``): more answers per second.

- ``no-canary``: v1 live, no canary;
- ``canary-only``: v2 (the same documents) as a canary answering half the questions, analysis off
  (``RAG_CANARY_ANALYSIS=false``): the traffic split without any bookkeeping;
- ``canary-analysis``: the same canary measured (every answer observed, runs judged after each
  batch), with a policy that never decides during the run (``RAG_CANARY_MIN_QUESTIONS`` huge).

The bookkeeping's cost is ``canary-analysis`` minus ``canary-only`` (p95 of POST /v1/ask). Because
that difference is far below the round-to-round noise of a p95 at 16 clients, each phase also reads
the watcher's own counters from ``/metrics`` (``rag_canary_watch_*``: busy and CPU time, batches):
the bookkeeping's share of the phase and what it can add to a request alive for the p95 latency,
expected (busy share x p95) and worst case (every batch that can start meanwhile, at the longest).

Part 2, time to removal. ``--trials`` times: a canary that refuses most questions (a version built
from one unrelated document) is set with ``min_questions=--min-questions``, the clients ask until
it is gone, and the run's ``decided_at - deciding_answer_at`` (from GET /v1/indexes/policies/canary)
is the time from the deciding answer to the removal (the canary is removed before the run is
marked decided).

    nice -n 10 python bench/canary_overhead.py --rounds 3 --seconds 20 --clients 16

Results: bench/results/canary_overhead.json.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, percentile, write_result
from bench.ask_load import QUESTIONS, Server, Variant, _build, _loadavg, run_load
from bench.ask_load import WORK as SERVER_LOGS

WORK = ROOT / "bench" / ".work" / "canary-overhead"
NEVER = "10000000"
CHEAP = {"RAG_EXTRACTIVE_SEMANTIC": "false"}
"""Every variant answers by words only: cheaper answers, more of them per second, so more bookkeeping
per second and more samples for each p95 on a busy machine."""
VARIANTS = {
    "no-canary": ("plain", CHEAP),
    "canary-only": ("canary", {**CHEAP, "RAG_CANARY_ANALYSIS": "false"}),
    "canary-analysis": ("canary", {**CHEAP, "RAG_CANARY_MIN_QUESTIONS": NEVER}),
}
UNRELATED = """---
title: Bicycle Allowance
doc_id: NW-PEO-099
---

# Bicycle Allowance

Employees who cycle to the office receive a bicycle allowance of 30 euros per month.
"""


def _prepare() -> dict[str, Path]:
    """``plain``: v1 live. ``canary``: v1 live, v2 (same documents) the canary at 50 %, v3 (one
    unrelated document) ready for part 2."""
    from rag.settings import Settings
    from rag.wiring import build_services

    SERVER_LOGS.mkdir(parents=True, exist_ok=True)  # where ask_load's Server writes its log
    plain, canary = WORK / "plain", WORK / "canary"
    _build(plain)
    shutil.rmtree(canary, ignore_errors=True)
    shutil.copytree(plain, canary)
    unrelated = WORK / "unrelated"
    shutil.rmtree(unrelated, ignore_errors=True)
    unrelated.mkdir(parents=True)
    (unrelated / "bicycle.md").write_text(UNRELATED)
    settings = Settings(_env_file=None, data_dir=canary, worker_enabled=False, auth_enabled=False)
    services = build_services(settings)
    try:
        services.builder.build("policies", ROOT / "ingest" / "sample_handbook")  # v2
        services.builder.build("policies", unrelated)  # v3
        services.registry.set_canary("policies", 2, 0.5)
    finally:
        services.close()
    return {"plain": plain, "canary": canary}


def _overhead(data: dict[str, Path], args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for r in range(args.rounds):
        for name, (data_name, env) in VARIANTS.items():
            spec = "+".join([f"{name}:here", *(f"{k}={v}" for k, v in env.items())])
            server = Server(Variant(spec, {"here": ROOT}), data[data_name])
            try:
                for clients in args.clients:
                    load_before = _loadavg()
                    cost_before = _watch_cost(server.url)
                    row = run_load(server.url, clients, args.seconds)
                    row.update(round=r + 1, variant=name, clients=clients, loadavg_before=load_before)
                    row["loadavg_after"] = _loadavg()
                    row["watch"] = _watch_share(cost_before, _watch_cost(server.url), args.seconds, row["p95_ms"])
                    print(row, flush=True)
                    rows.append(row)
            finally:
                server.stop()
    return rows


def _interleaved(data: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Both servers up at once (canary-only on ``data``, canary-analysis on a copy), the load switched
    between them every ``--window-seconds`` in ABBA order for ``--windows`` pairs: slow drift of a shared
    host falls on both alike. Per window pair, the p95 difference; over all, the median difference with
    a bootstrap interval over window pairs (95 %), and the pooled p95 of each."""
    import random

    copy = WORK / "canary-b"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(data, copy)
    names = ("canary-only", "canary-analysis")
    servers: dict[str, Server] = {}
    try:
        for name, folder in zip(names, (data, copy), strict=True):
            env = VARIANTS[name][1]
            spec = "+".join([f"{name}:here", *(f"{k}={v}" for k, v in env.items())])
            servers[name] = Server(Variant(spec, {"here": ROOT}), folder)
        for server in servers.values():
            run_load(server.url, args.clients[0], 3)  # warm-up: shards opened, caches filled
        cost_before = _watch_cost(servers["canary-analysis"].url)
        pairs: list[dict[str, Any]] = []
        pooled: dict[str, list[float]] = {name: [] for name in names}
        started = time.monotonic()
        for w in range(args.windows):
            order = names if w % 2 == 0 else names[::-1]  # ABBA
            pair: dict[str, Any] = {"window": w + 1, "loadavg_before": _loadavg()}
            for name in order:
                row = run_load(servers[name].url, args.clients[0], args.window_seconds, keep_latencies=True)
                pooled[name].extend(row.pop("latencies_ms"))
                pair[name] = row
            pair["p95_added_ms"] = round(pair["canary-analysis"]["p95_ms"] - pair["canary-only"]["p95_ms"], 1)
            print(pair, flush=True)
            pairs.append(pair)
        loaded_s = time.monotonic() - started
        cost_after = _watch_cost(servers["canary-analysis"].url)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(copy, ignore_errors=True)
    added = [p["p95_added_ms"] for p in pairs]
    rng = random.Random(0)
    boot = sorted(statistics.median(rng.choice(added) for _ in added) for _ in range(2000))
    p95 = {name: round(percentile(v, 95), 1) for name, v in pooled.items()}
    # the analysis server was loaded half the time: its watcher's share of the time it served
    watch = _watch_share(cost_before, cost_after, loaded_s / 2, p95["canary-analysis"])
    return {
        "windows": args.windows,
        "window_seconds": args.window_seconds,
        "clients": args.clients[0],
        "pooled_p95_ms": p95,
        "pooled_answers": {name: len(v) for name, v in pooled.items()},
        "p95_added_median_ms": statistics.median(added),
        "p95_added_median_95ci_ms": [boot[49], boot[1949]],
        "pooled_p95_added_ms": round(p95["canary-analysis"] - p95["canary-only"], 1),
        "watcher": watch,
        "pairs": pairs,
    }


def _watch_cost(url: str) -> dict[str, float]:
    """The server's ``rag_canary_watch_*`` counters (the watcher's busy and CPU time since it started)."""
    text = httpx.get(f"{url}/metrics", timeout=30).text
    return {
        name.removeprefix("rag_canary_watch_"): float(value)
        for name, value in (line.split(" ") for line in text.splitlines() if line.startswith("rag_canary_watch_"))
    }


def _watch_share(before: dict[str, float], after: dict[str, float], seconds: float, p95_ms: float) -> dict[str, float]:
    """What the watcher spent during one load phase, and what that can add to a p95 answer.

    A request is delayed by the bookkeeping at most by the watcher's work while the request is in
    flight (the watcher is the only bookkeeping off the answer path). ``expected_at_p95_ms``: the
    watcher's busy share of the phase times the p95 request's lifetime (an overestimate: busy time
    includes the watcher's own waits for the interpreter lock and the database); ``cpu_share_x_p95_ms``:
    the same with its CPU share, what it takes from the requests through the interpreter lock.
    ``worst_at_p95_ms``: every batch the watcher can start while that request is in flight (one per
    ``GATHER_S`` at most, plus one in hand) at the phase's longest batch."""
    from rag.canary.watch import GATHER_S

    busy = after.get("busy_seconds_total", 0.0) - before.get("busy_seconds_total", 0.0)
    cpu = after.get("cpu_seconds_total", 0.0) - before.get("cpu_seconds_total", 0.0)
    batches = after.get("batches_total", 0.0) - before.get("batches_total", 0.0)
    observed = after.get("observations_total", 0.0) - before.get("observations_total", 0.0)
    share = busy / seconds
    longest_ms = after.get("longest_batch_seconds", 0.0) * 1000
    return {
        "batches": batches,
        "observations": observed,
        "busy_share": round(share, 5),
        "cpu_share": round(cpu / seconds, 5),
        "busy_ms_per_batch": round(busy / batches * 1000, 3) if batches else 0.0,
        "longest_batch_ms": round(longest_ms, 2),
        "expected_at_p95_ms": round(share * p95_ms, 2),
        "cpu_share_x_p95_ms": round(cpu / seconds * p95_ms, 2),
        "worst_at_p95_ms": round((p95_ms / 1000 // GATHER_S + 1) * longest_ms, 2),
    }


def _removal_trials(data: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Set a refusing canary (v3), ask with ``clients`` clients until it is removed; the lag of each trial."""
    server = Server(Variant("removal:here+RAG_EXTRACTIVE_SEMANTIC=false", {"here": ROOT}), data)
    trials: list[dict[str, Any]] = []
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for trial in range(args.trials):
                policy = {"min_questions": args.min_questions, "min_duration_s": 3600}
                http.post("/v1/indexes/policies/canary", json={"version": 3, "share": 0.5, "policy": policy})
                stop = threading.Event()
                asked = [0]

                def client(n: int, stop: threading.Event = stop, asked: list[int] = asked) -> None:
                    with httpx.Client(base_url=server.url, timeout=60) as c:
                        i = n
                        while not stop.is_set():
                            c.post("/v1/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
                            asked[0] += 1
                            i += 1

                load_before = _loadavg()
                threads = [threading.Thread(target=client, args=(n,)) for n in range(args.removal_clients)]
                for t in threads:
                    t.start()
                deadline = time.monotonic() + 300
                body: dict[str, Any] = {}
                while time.monotonic() < deadline:
                    body = http.get("/v1/indexes/policies/canary").json()
                    if body["run"] and body["run"]["state"] == "rolled_back":
                        break
                    time.sleep(0.1)
                stop.set()
                for t in threads:
                    t.join()
                run = body["run"]
                decided = datetime.fromisoformat(run["decided_at"])
                deciding = datetime.fromisoformat(run["deciding_answer_at"])
                row = {
                    "trial": trial + 1,
                    "state": run["state"],
                    "lag_ms": round((decided - deciding).total_seconds() * 1000, 1),
                    "questions_asked": asked[0],
                    "live_questions": body["live"]["questions"],
                    "canary_questions": body["canary"]["questions"],
                    "reason": run["reason"][:160],
                    "loadavg_before": load_before,
                }
                print(row, flush=True)
                trials.append(row)
    finally:
        server.stop()
    return trials


def _in_process(data: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The bookkeeping's own cost, timed in one process on a copy of the canary data: the answer
    path's part (``CanaryWatch.answered``) and the background part per batch (store + judge), the
    latter with ``--preload`` observations already in the run (the rates are counted over the whole
    run; latency over each arm's newest 2000)."""
    from rag.canary.runs import Observation
    from rag.settings import Settings
    from rag.wiring import build_services

    copy = WORK / "in-process"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(data, copy)
    settings = Settings(
        _env_file=None, data_dir=copy, worker_enabled=False, auth_enabled=False, canary_min_questions=int(NEVER)
    )
    services = build_services(settings)
    try:
        watch = services.canary
        canary = services.registry.canary("policies")
        assert canary is not None
        run = watch.begin(canary)
        record = services.assistant.ask(QUESTIONS[0])
        watch.start()
        calls: list[float] = []
        for _ in range(args.calls):
            t: float = time.perf_counter_ns()
            watch.answered(record)
            calls.append((time.perf_counter_ns() - t) / 1000)
        watch.stop()  # the rest of the queue is dropped: the batches are timed below, synchronously
        at = datetime.now(run.started_at.tzinfo)
        filler = [
            Observation(
                "policies", "live" if i % 2 else "canary", 2 if i % 2 == 0 else 1, None, at, latency_ms=50.0 + i % 7
            )
            for i in range(args.preload)
        ]
        services.canary.runs.add(run.id, filler)
        batches: dict[str, dict[str, float]] = {}
        for size in (1, 16):
            took: list[float] = []
            for _ in range(args.batches):
                batch: list[Observation | str] = [
                    Observation("policies", "canary", 2, None, datetime.now(run.started_at.tzinfo), latency_ms=60.0)
                    for _ in range(size)
                ]
                t = time.perf_counter()
                watch._record(batch)  # stores the batch
                watch.check(run)  # and the judgement that follows it
                took.append((time.perf_counter() - t) * 1000)
            batches[f"batch of {size}"] = {
                "p50_ms": round(statistics.median(took), 2),
                "p95_ms": round(sorted(took)[int(0.95 * (len(took) - 1))], 2),
            }
        calls.sort()
        return {
            "answered_call_us": {
                "calls": len(calls),
                "p50": round(calls[len(calls) // 2], 1),
                "p95": round(calls[int(0.95 * (len(calls) - 1))], 1),
                "p99": round(calls[int(0.99 * (len(calls) - 1))], 1),
            },
            "background_per_batch": {"observations_in_run": args.preload, **batches},
            "loadavg": _loadavg(),
        }
    finally:
        services.close()
        shutil.rmtree(copy, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", nargs="+", type=int, default=[16])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--min-questions", type=int, default=20)
    parser.add_argument("--removal-clients", type=int, default=16)
    parser.add_argument("--calls", type=int, default=20000, help="in-process: answered() calls timed")
    parser.add_argument("--preload", type=int, default=5000, help="in-process: observations already in the run")
    parser.add_argument("--batches", type=int, default=200, help="in-process: background batches timed")
    parser.add_argument("--skip-load", action="store_true", help="only the in-process part and the removal trials")
    parser.add_argument("--windows", type=int, default=0, help="interleaved: window pairs (0: not run)")
    parser.add_argument("--window-seconds", type=float, default=5.0, help="interleaved: seconds per window")
    parser.add_argument("--only-interleaved", action="store_true", help="only the interleaved comparison")
    args = parser.parse_args()
    if args.only_interleaved:
        data = _prepare()
        write_result("canary_overhead_interleaved", _interleaved(data["canary"], args))
        return

    data = _prepare()
    in_process = _in_process(data["canary"], args)
    print(in_process, flush=True)
    rows = [] if args.skip_load else _overhead(data, args)
    summary: dict[str, dict[str, float]] = {}
    for name in VARIANTS:
        for clients in args.clients:
            mine = [x for x in rows if x["variant"] == name and x["clients"] == clients]
            if not mine:
                continue
            summary[f"{name} @ {clients}"] = {
                k: round(statistics.median(x[k] for x in mine), 1) for k in ("answers_per_s", "p50_ms", "p95_ms")
            }
    per_round = (
        {}
        if args.skip_load
        else {
            f"round {r} @ {c}": round(
                next(x["p95_ms"] for x in rows if (x["round"], x["variant"], x["clients"]) == (r, "canary-analysis", c))
                - next(x["p95_ms"] for x in rows if (x["round"], x["variant"], x["clients"]) == (r, "canary-only", c)),
                1,
            )
            for r in range(1, args.rounds + 1)
            for c in args.clients
        }
    )
    watch = {f"round {x['round']} @ {x['clients']}": x["watch"] for x in rows if x["variant"] == "canary-analysis"}
    trials = _removal_trials(data["canary"], args)
    lags = [t["lag_ms"] for t in trials]
    write_result(
        "canary_overhead",
        {
            "seconds_per_phase": args.seconds,
            "rounds": args.rounds,
            "in_process": in_process,
            "median_over_rounds": summary,
            "p95_added_by_analysis_per_round_ms": per_round,
            "watcher_during_load": watch,
            "runs": rows,
            "removal": {
                "min_questions": args.min_questions,
                "clients": args.removal_clients,
                "lag_ms_median": statistics.median(lags) if lags else None,
                "lag_ms_max": max(lags) if lags else None,
                "trials": trials,
            },
        },
    )


if __name__ == "__main__":
    main()
