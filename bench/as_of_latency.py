"""What an ``as_of`` adds to answering: resolving the version live then, at 100 promotions in the history.

Builds the sample handbook twice (v1, and v2 with one document edited) into a fresh SQLite catalog
and Qdrant Edge in bench/.work, switches the live alias 100 times (promote v1 / v2 alternately),
then, interleaved so that load drifts hit both alike:

- the resolve step alone: ``registry.resolve(policies)`` against
  ``registry.resolve_as_of(policies, moment)`` for a random moment in the history (``--resolves``);
- whole answers: ``assistant.ask(question)`` against ``assistant.ask(question, as_of=moment)``
  (``--asks``), reading the ``resolve`` and ``total`` timings each answer records.

Target: as-of resolution adds <= 1 ms p95 to an answer.
Run: ``python bench/as_of_latency.py [--promotions 100 --resolves 2000 --asks 200]``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SAMPLE_QUESTIONS, percentile, write_result
from indexes.refs import IndexRef
from rag.settings import Settings
from rag.wiring import build_services

WORK = ROOT / "bench" / ".work" / "as_of_latency"
SAMPLE = ROOT / "ingest" / "sample_handbook"
QUESTIONS = SAMPLE_QUESTIONS


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 3),
        "p95": round(percentile(values, 95), 3),
        "mean": round(sum(values) / len(values), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promotions", type=int, default=100)
    parser.add_argument("--resolves", type=int, default=2000)
    parser.add_argument("--asks", type=int, default=200)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    edited = WORK / "handbook-v2"
    shutil.copytree(SAMPLE, edited)
    leave = edited / "people" / "annual-leave.md"
    leave.write_text(leave.read_text().replace("28 working days", "30 working days"))
    settings = Settings(_env_file=None, data_dir=WORK / "data", worker_enabled=False)
    services = build_services(settings)
    try:
        services.builder.build("policies", SAMPLE, promote=True)
        services.builder.build("policies", edited)
        for n in range(args.promotions - 1):  # the first build's promotion is the first of them
            services.registry.promote("policies", 2 if n % 2 == 0 else 1)
        history = services.catalog.alias_history("policies")
        assert len(history) == args.promotions, len(history)
        first, last = history[0].at, history[-1].at
        rng = random.Random(14)

        def moment() -> datetime:
            return first + (last - first) * rng.random()

        ref = IndexRef("policies")
        registry = services.registry
        for _ in range(50):  # warm the manifest cache and the connection pool
            registry.resolve(ref)
            registry.resolve_as_of(ref, moment())
        live_ms: list[float] = []
        as_of_ms: list[float] = []
        for _ in range(args.resolves):
            when = moment()
            t0 = time.perf_counter()
            registry.resolve(ref)
            t1 = time.perf_counter()
            registry.resolve_as_of(ref, when)
            t2 = time.perf_counter()
            live_ms.append((t1 - t0) * 1000)
            as_of_ms.append((t2 - t1) * 1000)

        assistant = services.assistant
        for q in QUESTIONS:  # warm both shards and the embedder
            assistant.ask(q, record=False)
            assistant.ask(q, record=False, as_of=moment())
        ask_resolve: dict[str, list[float]] = {"live": [], "as_of": []}
        ask_total: dict[str, list[float]] = {"live": [], "as_of": []}
        for i in range(args.asks):
            q = QUESTIONS[i % len(QUESTIONS)]
            order = ["live", "as_of"] if i % 2 == 0 else ["as_of", "live"]
            for kind in order:
                as_of = moment() if kind == "as_of" else None
                record = assistant.ask(q, record=False, as_of=as_of)
                ask_resolve[kind].append(record.timings_ms["resolve"])
                ask_total[kind].append(record.timings_ms["total"])
        resolve_live, resolve_as_of = _ms(live_ms), _ms(as_of_ms)
        result = {
            "promotions_in_history": len(history),
            "load": f"{os.getloadavg()[0]:.2f} (1-min load average at the end), machine shared with other work",
            "resolve_only_ms": {"live": resolve_live, "as_of": resolve_as_of},
            "resolve_only_added_p95_ms": round(resolve_as_of["p95"] - resolve_live["p95"], 3),
            "ask_resolve_step_ms": {k: _ms(v) for k, v in ask_resolve.items()},
            "ask_resolve_added_p95_ms": round(
                percentile(ask_resolve["as_of"], 95) - percentile(ask_resolve["live"], 95), 3
            ),
            "ask_total_ms": {k: _ms(v) for k, v in ask_total.items()},
            "target": "as-of resolution adds <= 1 ms p95",
        }
        write_result("as_of_latency", result)
    finally:
        services.close()


if __name__ == "__main__":
    main()
