"""What releases add to answering: the release lookup in ``resolve`` and the profile lookup per question.

Builds the sample handbook into a fresh SQLite catalog and Qdrant Edge in bench/.work, then,
interleaved so that load drifts hit both alike:

- the resolve step alone: ``registry.resolve(policies)`` as it is now (canary draw, the alias's
  release row, the cached release, the version's state) against the steps resolve took before
  releases (canary draw, the engine alias, the version's state), ``--resolves`` times each;
- the profile lookup: ``assistant.profile(resolved)`` for a release that follows the settings and for
  a pinned release (a pool hit: hashing its spec);
- whole answers (``--asks``, recorded in blocks alternating between the two releases): the
  ``resolve`` and ``total`` timings each answer records.

Run: ``python bench/release_lookup.py [--resolves 3000 --asks 200]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SAMPLE_QUESTIONS, percentile, write_result
from indexes.refs import IndexRef
from rag.releases import settings_spec
from rag.settings import Settings
from rag.wiring import build_services

WORK = ROOT / "bench" / ".work" / "release_lookup"
SAMPLE = ROOT / "ingest" / "sample_handbook"


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 4),
        "p95": round(percentile(values, 95), 4),
        "mean": round(sum(values) / len(values), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolves", type=int, default=3000)
    parser.add_argument("--asks", type=int, default=200)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    settings = Settings(_env_file=None, data_dir=WORK / "data", worker_enabled=False)
    services = build_services(settings)
    try:
        services.builder.build("policies", SAMPLE, promote=True)
        registry, engine, assistant = services.registry, services.engine, services.assistant
        follows = registry.live_release("policies")
        assert follows is not None and follows.follows_settings
        pinned = registry.release_for("policies", spec=settings_spec(settings))  # the same answers, pinned
        ref = IndexRef("policies")

        def before_releases() -> None:  # the steps resolve took before releases
            if registry._canary_draw("policies") is None:
                target = engine.resolve_alias("policies")
                assert target is not None
                registry._ready_manifest(*target)

        for _ in range(200):  # warm the caches and the connection pool
            registry.resolve(ref)
            before_releases()
        now_ms: list[float] = []
        before_ms: list[float] = []
        for i in range(args.resolves):
            for kind in ("now", "before") if i % 2 == 0 else ("before", "now"):
                t0 = time.perf_counter()
                registry.resolve(ref) if kind == "now" else before_releases()
                (now_ms if kind == "now" else before_ms).append((time.perf_counter() - t0) * 1000)

        resolved = registry.resolve(ref)
        profile_ms: dict[str, list[float]] = {"follows_settings": [], "pinned": []}
        registry.promote_release("policies", pinned.number)
        pinned_version = registry.resolve(ref)
        assistant.profile(pinned_version)  # built once here
        for _ in range(args.resolves):
            for kind, version in (("follows_settings", resolved), ("pinned", pinned_version)):
                t0 = time.perf_counter()
                assistant.profile(version)
                profile_ms[kind].append((time.perf_counter() - t0) * 1000)

        for q in SAMPLE_QUESTIONS:  # warm the shard and the embedder
            assistant.ask(q, record=False)
        ask_resolve: dict[str, list[float]] = {"follows_settings": [], "pinned": []}
        ask_total: dict[str, list[float]] = {"follows_settings": [], "pinned": []}
        block = 20
        for start in range(0, args.asks, block):
            kind = "pinned" if (start // block) % 2 == 0 else "follows_settings"
            target = pinned if kind == "pinned" else follows
            if registry.live_release("policies") != target:
                registry.promote_release("policies", target.number)
            for i in range(start, min(start + block, args.asks)):
                record = assistant.ask(SAMPLE_QUESTIONS[i % len(SAMPLE_QUESTIONS)], record=False)
                assert record.release == target.number
                ask_resolve[kind].append(record.timings_ms["resolve"])
                ask_total[kind].append(record.timings_ms["total"])
        now, before = _ms(now_ms), _ms(before_ms)
        write_result(
            "release_lookup",
            {
                "load": f"{os.getloadavg()[0]:.2f} (1-min load average at the end), machine shared with other work",
                "resolve_only_ms": {"with_releases": now, "before_releases": before},
                "resolve_added_p95_ms": round(now["p95"] - before["p95"], 4),
                "profile_lookup_ms": {k: _ms(v) for k, v in profile_ms.items()},
                "ask_resolve_step_ms": {k: _ms(v) for k, v in ask_resolve.items()},
                "ask_total_ms": {k: _ms(v) for k, v in ask_total.items()},
            },
        )
    finally:
        services.close()


if __name__ == "__main__":
    main()
