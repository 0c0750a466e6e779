"""Measures PII redaction: recall and precision on the planted set, and redaction speed.

Run: ``python bench/pii_redaction.py``. The planted set (``bench/pii_planted.py``, seed 5) has 40
values of each of the six kinds and 160 look-alike decoys; targets: recall >= 0.95, precision >= 0.9.
Speed is measured on the sample handbook's Markdown and text files, redacted 5 times.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, write_result
from bench.pii_planted import planted_set, score
from ingest.pii import Redactor


def main() -> None:
    items = planted_set()
    redactor = Redactor()
    result = score(items, redactor.find)
    texts = [
        p.read_text(encoding="utf-8")
        for p in sorted((ROOT / "ingest" / "sample_handbook").rglob("*"))
        if p.suffix in {".md", ".txt", ".html"}
    ]
    chars = sum(len(t) for t in texts)
    start = time.perf_counter()
    counts: dict[str, int] = {}
    for _ in range(5):
        for text in texts:
            for kind, n in redactor.redact(text).counts.items():
                counts[kind] = counts.get(kind, 0) + n
    elapsed = time.perf_counter() - start
    write_result(
        "pii_redaction",
        {
            "planted_values": sum(1 for i in items if i.kind),
            "decoys": sum(1 for i in items if i.kind is None),
            "recall": round(result.recall, 4),
            "precision": round(result.precision, 4),
            "found_by_kind": result.found,
            "missed_by_kind": result.missed,
            "false_positives": result.false_positives,
            "misses": [i.value for i in result.misses],
            "wrong": [w for _, w in result.wrong],
            "speed": {
                "documents": len(texts),
                "chars": chars,
                "chars_per_s": round(5 * chars / elapsed),
                "ms_per_document": round(1000 * elapsed / (5 * len(texts)), 2),
                "redactions_in_sample_handbook": {k: v // 5 for k, v in counts.items()},
            },
        },
    )


if __name__ == "__main__":
    main()
