"""Alias switches under load: 16 concurrent clients ask for 30 s while promote and rollback run
every 2 s, against the same load without switches, in one run.

Builds the sample handbook twice (v1, v2) in bench/.work, serves the app with uvicorn on
127.0.0.1, and runs two phases of the same length: without switches, then with a switcher that
alternates ``POST /promote {version: 2}`` and ``POST /rollback`` every 2 s. Reports requests,
failures (non-200 or transport errors), p50/p95/p99 of both phases, the versions that answered,
and the p99 ratio (target: zero failures, p99 within 2x).
Run: ``python bench/alias_switch_load.py [--seconds 30 --clients 16]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.app import create_app
from bench._common import ROOT, SAMPLE_QUESTIONS, percentile, write_result
from rag.settings import Settings
from rag.wiring import build_services
from tests.support.live_server import LiveServer

WORK = ROOT / "bench" / ".work" / "alias-switch"
QUESTIONS = SAMPLE_QUESTIONS


def _phase(port: int, clients: int, seconds: float, switch: bool) -> dict[str, Any]:
    latencies: list[float] = []
    failures: list[str] = []
    versions: Counter[int] = Counter()
    switches: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            i = n
            while time.monotonic() < stop:
                q = QUESTIONS[i % len(QUESTIONS)]
                i += 1
                t = time.perf_counter()
                try:
                    r = http.post("/v1/ask", json={"question": q})
                    ok = r.status_code == 200
                    body: Any = r.json() if ok else r.text
                except httpx.HTTPError as exc:
                    ok, body = False, repr(exc)
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    if ok:
                        latencies.append(ms)
                        versions[body["index"]["version"]] += 1
                    else:
                        failures.append(str(body)[:200])

    def switcher() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            promote = True
            while time.monotonic() < stop - 0.5:
                time.sleep(2)
                if promote:
                    r = http.post("/v1/indexes/policies/promote", json={"version": 2})
                else:
                    r = http.post("/v1/indexes/policies/rollback")
                switches.append(f"{'promote' if promote else 'rollback'}:{r.status_code}")
                promote = not promote

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    if switch:
        threads.append(threading.Thread(target=switcher))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "requests": len(latencies) + len(failures),
        "failures": len(failures),
        "failure_samples": failures[:5],
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "versions_answering": dict(versions),
        "switches": Counter(switches),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    # Auth and rate limits (issue 5) are off: the benchmark measures alias switches under load.
    settings = Settings(
        _env_file=None, data_dir=WORK / "data", worker_enabled=False, auth_enabled=False, rate_limit=None
    )
    services = build_services(settings)
    try:
        services.builder.build("policies", ROOT / "ingest" / "sample_handbook", promote=True)
        services.builder.build("policies", ROOT / "ingest" / "sample_handbook", mode="full")
    finally:
        services.close()
    with LiveServer(create_app(settings), start_timeout_s=120) as server:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for q in QUESTIONS:  # warm-up
                http.post("/v1/ask", json={"question": q})
        calm = _phase(server.port, args.clients, args.seconds, switch=False)
        switching = _phase(server.port, args.clients, args.seconds, switch=True)
    ratio = switching["p99_ms"] / calm["p99_ms"]
    write_result(
        "alias_switch_load",
        {
            "clients": args.clients,
            "seconds_per_phase": args.seconds,
            "without_switches": calm,
            "with_switches": switching,
            "p99_ratio": round(ratio, 2),
            "targets": {"zero_failures": switching["failures"] == 0, "p99_within_2x": ratio <= 2.0},
        },
    )


if __name__ == "__main__":
    main()
