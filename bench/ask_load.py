"""Answers per core: a load generator against a real ``rag serve`` on loopback, 1 and N clients.

Builds the sample handbook (ingest/sample_handbook) once into bench/.work/ask-load, then, for every
*variant*, starts ``rag serve`` as its own process (uvicorn, 127.0.0.1, a free port) with auth and
the rate limit off and the build worker off, and runs closed-loop clients (each sends its next
question as soon as the previous answer arrives) for ``--seconds`` at each client count. Variants
and rounds are interleaved (round 1: every variant, round 2: every variant ...) because the machine
is shared and noisy; each figure is reported per round and as the median over rounds.

A variant is ``label[:tree][+ENV=value...]``; ``tree`` is ``base`` (the code of ``--baseline-ref``,
extracted with ``git archive`` into bench/.work) or ``here`` (this checkout, the default). Examples:

    python bench/ask_load.py --variants base+RAG_EXTRACTIVE_SEMANTIC=false here+RAG_EXTRACTIVE_SEMANTIC=false \
        base here --clients 1 16 --seconds 20 --rounds 2

The load generator runs in this process (httpx, one thread per client), on the same 2 cores as
the server: that is the issue's set-up ("one load generator on the same machine").
Results: bench/results/ask_load.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SAMPLE_QUESTIONS, percentile, write_result

WORK = ROOT / "bench" / ".work" / "ask-load"
QUESTIONS = [
    *SAMPLE_QUESTIONS,
    "Can I carry unused vacation days into next year?",
    "Do I need approval before booking a flight?",
    "How often must I change my password?",
    "Who approves remote work requests?",
]
SERVER_ENV = {
    "RAG_AUTH_ENABLED": "false",
    "RAG_RATE_LIMIT": "",
    "RAG_WORKER_ENABLED": "false",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _baseline_tree(ref: str) -> Path:
    """The code of ``ref`` extracted (``git archive``) into bench/.work, re-extracted each run."""
    tree = WORK / "baseline"
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


class Variant:
    """One server configuration: which code tree and which extra environment."""

    def __init__(self, spec: str, trees: dict[str, Path]) -> None:
        head, *envs = spec.split("+")
        label, _, tree = head.partition(":")
        tree = tree or ("base" if label == "base" else "here")
        self.name = spec
        self.tree = trees[tree]
        self.env = dict(e.split("=", 1) for e in envs)


class Server:
    """``rag serve`` in its own process, from a code tree, until :meth:`stop`."""

    def __init__(self, variant: Variant, data_dir: Path) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            **SERVER_ENV,
            **variant.env,
            "RAG_DATA_DIR": str(data_dir),
            "PYTHONPATH": str(variant.tree),
        }
        self.log = WORK / f"server-{self.port}.log"
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=variant.tree,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("server did not start in 180 s")
            time.sleep(0.2)
        with httpx.Client(base_url=self.url, timeout=60) as http:
            for q in QUESTIONS * 2:  # warm-up: model, caches, connection pool
                http.post("/v1/ask", json={"question": q}).raise_for_status()

    def rss_mb(self) -> float:
        """Resident memory of the server process (MB), from /proc."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        """Ask the server to stop (SIGTERM), then wait for it."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log_file.close()
        self.log.unlink(missing_ok=True)


def run_load(url: str, clients: int, seconds: float, keep_latencies: bool = False) -> dict[str, Any]:
    """Closed-loop load: ``clients`` threads ask in turn for ``seconds``; answers/s and latency percentiles
    (and every answer's latency in ms as ``latencies_ms`` with ``keep_latencies``)."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = time.monotonic()
    stop = start + seconds

    def client(n: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            i = n * 5
            while time.monotonic() < stop:
                q = QUESTIONS[i % len(QUESTIONS)]
                i += 1
                t = time.perf_counter()
                try:
                    r = http.post("/v1/ask", json={"question": q})
                    ok, why = r.status_code == 200, r.text[:200]
                except httpx.HTTPError as exc:
                    ok, why = False, repr(exc)
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    (latencies.append(ms) if ok else failures.append(why))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    row: dict[str, Any] = {
        "answers": len(latencies),
        "failures": len(failures),
        "failure_samples": failures[:3],
        "answers_per_s": round(len(latencies) / elapsed, 2),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
    }
    if keep_latencies:
        row["latencies_ms"] = latencies
    return row


def _build(data_dir: Path) -> None:
    from rag.settings import Settings
    from rag.wiring import build_services

    shutil.rmtree(data_dir, ignore_errors=True)
    settings = Settings(_env_file=None, data_dir=data_dir, worker_enabled=False, auth_enabled=False)
    services = build_services(settings)
    try:
        services.builder.build("policies", ROOT / "ingest" / "sample_handbook", promote=True)
    finally:
        services.close()


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=["base", "here"])
    parser.add_argument("--baseline-ref", default="main", help="git ref whose code the `base` tree runs")
    parser.add_argument("--clients", nargs="+", type=int, default=[1, 16])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--name", default="ask_load", help="result file name under bench/results")
    args = parser.parse_args()

    data_dir = WORK / "data"
    _build(data_dir)
    trees = {"here": ROOT}
    if any(v.split("+")[0].split(":")[-1] == "base" or v.startswith("base") for v in args.variants):
        trees["base"] = _baseline_tree(args.baseline_ref)
    variants = [Variant(v, trees) for v in args.variants]
    rounds: list[dict[str, Any]] = []
    for r in range(args.rounds):
        for variant in variants:
            server = Server(variant, data_dir)
            try:
                for clients in args.clients:
                    load_before = _loadavg()
                    row = run_load(server.url, clients, args.seconds)
                    row.update(
                        round=r + 1,
                        variant=variant.name,
                        clients=clients,
                        rss_mb=round(server.rss_mb(), 1),
                        loadavg_before=load_before,
                    )
                    print(row, flush=True)
                    rounds.append(row)
            finally:
                server.stop()
    summary: dict[str, dict[str, Any]] = {}
    for variant in variants:
        for clients in args.clients:
            rows = [x for x in rounds if x["variant"] == variant.name and x["clients"] == clients]
            summary[f"{variant.name} @ {clients}"] = {
                k: round(statistics.median(x[k] for x in rows), 1) for k in ("answers_per_s", "p50_ms", "p95_ms")
            }
    write_result(
        args.name,
        {
            "seconds_per_phase": args.seconds,
            "rounds": args.rounds,
            "baseline_ref": args.baseline_ref,
            "baseline_commit": subprocess.run(
                ["git", "-C", str(ROOT), "rev-parse", args.baseline_ref], capture_output=True, text=True
            ).stdout.strip(),
            "median_over_rounds": summary,
            "runs": rounds,
        },
    )


if __name__ == "__main__":
    main()
