"""Helpers shared by the benchmarks: timing, percentiles, machine facts and result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uuid

    from indexes.types import ChunkRecord

__all__ = ["ROOT", "SAMPLE_QUESTIONS", "SHARED_DATA", "copied_chunk", "machine", "percentile", "timer", "write_result"]

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RAG_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "bench" / "results"

SAMPLE_QUESTIONS = [
    "How many days of annual leave do I get?",
    "How long must my password be?",
    "What is the daily allowance for travel?",
    "Who do I report a security incident to?",
    "Can I work from another country?",
    "How do I submit an expense claim?",
    "What happens if I lose my laptop?",
    "How much parental leave do partners get?",
]
"""Questions over the sample handbook that the load and latency benchmarks ask in turn."""


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1] if q < 100 else ordered[-1]


@contextmanager
def timer() -> Iterator[list[float]]:
    """Yields a list that holds the elapsed seconds once the block ends."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


def machine() -> dict[str, Any]:
    """Facts about the machine a result was measured on."""
    import torch

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(terse=True),
    }


def write_result(name: str, result: dict[str, Any]) -> Path:
    """Write a benchmark's figures to bench/results/<name>.json and print them."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    result = {"benchmark": name, "machine": machine(), **result}
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return path


def copied_chunk(chunk: ChunkRecord, copy: int, namespace: uuid.UUID) -> ChunkRecord:
    """``chunk`` itself for copy 0, else its ``copy``-th copy with an id and a document of its own
    (stable: the same chunk, copy and namespace give the same ids), for benchmarks that grow a corpus."""
    import dataclasses
    import uuid as uuid_module

    if not copy:
        return chunk
    return dataclasses.replace(
        chunk,
        chunk_id=str(uuid_module.uuid5(namespace, f"{chunk.chunk_id}:{copy}")),
        doc_id=f"{chunk.doc_id}#copy{copy}",
    )
