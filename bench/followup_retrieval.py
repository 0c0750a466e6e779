"""Follow-up questions: how often the follow-up of a two-turn dialogue retrieves the right document.

The dialogues are the test data tests/rag/data/followups.jsonl (over the sample handbook). Each
follow-up is searched three ways: alone (the earlier turn ignored, as before conversations were
kept), combined with the previous question (what the assistant does without a model), and, for
reference, the first question alone. A follow-up counts when a chunk of one of its documents is
among the top ``k`` retrieved (the sources an answer is written from, k = 5) or is the first one.

    python bench/followup_retrieval.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, write_result
from indexes.refs import IndexRef
from rag.conversation import CombiningCondenser, Turn
from rag.settings import Settings
from rag.wiring import build_services

DIALOGUES = ROOT / "tests" / "rag" / "data" / "followups.jsonl"
SAMPLE = ROOT / "ingest" / "sample_handbook"


def main() -> None:
    dialogues = [json.loads(line) for line in DIALOGUES.read_text().splitlines() if line.strip()]
    condenser = CombiningCondenser()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp), qdrant_url=None, llm_model=None)
        services = build_services(settings)
        try:
            services.builder.build("policies", SAMPLE, promote=True)
            version = services.registry.resolve(IndexRef.parse("policies"))
            ways: dict[str, Callable[[dict[str, Any]], str]] = {
                "follow_up_alone": lambda d: d["follow_up"],
                "combined_with_previous": lambda d: condenser.standalone(d["follow_up"], [Turn("user", d["first"])]),
            }
            result: dict[str, Any] = {"dialogues": len(dialogues), "top_k": settings.top_k}
            misses: dict[str, list[str]] = {}
            for name, query in ways.items():
                at1 = at5 = 0
                misses[name] = []
                for d in dialogues:
                    hits = services.assistant.retriever.search(version, query(d), settings.top_k)
                    sources = [h.chunk.source for h in hits]
                    at1 += bool(sources) and sources[0] in d["doc_ids"]
                    found = any(s in d["doc_ids"] for s in sources)
                    at5 += found
                    if not found:
                        misses[name].append(d["id"])
                result[name] = {
                    "hit_at_1": round(at1 / len(dialogues), 3),
                    f"hit_at_{settings.top_k}": round(at5 / len(dialogues), 3),
                }
            result["misses"] = misses
        finally:
            services.close()
    write_result("followup_retrieval", result)


if __name__ == "__main__":
    main()
