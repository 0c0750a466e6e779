"""Incremental rebuild after changing 1% of the documents, against a full build, in one run.

On ../shared/data/handbooks (copied to bench/.work): a full build (v1, promoted), then the titles
of 1% of the documents are changed in their front matter (the title is embedded with every chunk,
so every chunk of a changed document changes), then an incremental build (v2). Reports both
build times, the ratio (target <= 5%), the chunks embedded by the incremental build and the chunk
count of the changed documents (target: equal), and that the chunk count of v2 equals v1's.
A second incremental build (v3) edits one paragraph of the same share of documents instead,
to show that then only the changed chunks are embedded.
Run: ``python bench/incremental_rebuild.py [--share 0.01]`` (a full build: several minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SHARED_DATA, write_result
from ingest.build import BuildMode, BuildResult
from rag.settings import Settings
from rag.wiring import Services, build_services

WORK = ROOT / "bench" / ".work" / "incremental"


def _timed_build(services: Services, index: str, src: Path, mode: BuildMode) -> tuple[float, BuildResult]:
    start = time.perf_counter()
    result = services.builder.build(index, src, mode=mode, promote=True)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--share", type=float, default=0.01, help="Share of documents to change.")
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    src = WORK / "handbooks"
    shutil.copytree(SHARED_DATA / "handbooks", src)
    services = build_services(Settings(_env_file=None, data_dir=WORK / "data", worker_enabled=False))
    try:
        full_s, full = _timed_build(services, "handbooks", src, "full")
        m1 = full.manifest
        by_source = {d.source: d for d in m1.documents}
        rng = random.Random(7)
        candidates = sorted(s for s in by_source if s.endswith(".md"))
        count = max(1, round(len(m1.documents) * args.share))
        changed = rng.sample(candidates, count)
        for name in changed:
            path = src / name
            text = path.read_text()
            if re.search(r"^title:.*$", text, flags=re.M):
                text = re.sub(r"^title:(.*)$", r"title:\1 (revised)", text, count=1, flags=re.M)
            else:
                text = f"---\ntitle: {by_source[name].title} (revised)\n---\n" + text
            path.write_text(text)
        expected = sum(by_source[n].chunk_count for n in changed)
        incr_s, incr = _timed_build(services, "handbooks", src, "incremental")
        m2 = incr.manifest

        edited = rng.sample([c for c in candidates if c not in changed], count)
        for name in edited:
            path = src / name
            path.write_text(path.read_text() + "\n\nThis paragraph was added by the benchmark.\n")
        edit_s, edit = _timed_build(services, "handbooks", src, "incremental")
        m3 = edit.manifest
    finally:
        services.close()
    ratio = incr_s / full_s
    write_result(
        "incremental_rebuild",
        {
            "source": "../shared/data/handbooks (copy)",
            "documents": len(m1.documents),
            "changed_documents": count,
            "full": {"seconds": round(full_s, 2), "chunks": m1.chunk_count, "embedded": m1.chunks_embedded},
            "incremental_title_change": {
                "seconds": round(incr_s, 2),
                "chunks": m2.chunk_count,
                "embedded": m2.chunks_embedded,
                "reused": m2.chunks_reused,
                "chunks_of_changed_documents": expected,
                "timings_ms": m2.timings_ms,
            },
            "incremental_paragraph_added": {
                "seconds": round(edit_s, 2),
                "embedded": m3.chunks_embedded,
                "chunks_of_changed_documents": sum(by_source[n].chunk_count for n in edited),
                "timings_ms": m3.timings_ms,
            },
            "ratio_incremental_over_full": round(ratio, 4),
            "targets": {
                "ratio_le_0.05": ratio <= 0.05,
                "embedded_equals_changed_chunks": m2.chunks_embedded == expected,
                "no_duplicates": m2.chunk_count == m1.chunk_count,
            },
        },
    )


if __name__ == "__main__":
    main()
