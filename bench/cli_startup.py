"""How long a `rag` command takes from start to exit, with and without the recorded ONNX export.

An ONNX export is recorded under a digest of its model folder (``ingest.onnx_encoder``); a process
that finds the record opens the export with ONNX Runtime alone. Without a record it loads the
sentence-transformers model with torch first (what every process did before). This benchmark
builds the sample handbook once into a temporary data folder, then runs, alternating the two
modes in one run so the machine's load falls on both alike:

- ``rag ask <question> --index policies`` (loads the embedder; the question is answered), and
- ``rag versions policies`` (needs no model: a control that should not move).

Each "model load" run deletes the record first (the exports stay, so neither mode exports); the
command that follows it finds the record that run wrote again. Reported: the median and spread of
the wall time of each command in each mode.

    python bench/cli_startup.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, write_result

RAG = str(Path(sys.executable).with_name("rag"))
QUESTION = "How many days of annual leave do I get?"


def _run(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([RAG, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"rag {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command in each mode")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cli-startup-") as tmp:
        cache, data = Path(tmp) / "model-cache", Path(tmp) / "data"
        env = {
            **os.environ,
            "RAG_DATA_DIR": str(data),
            "RAG_EMBEDDING_CACHE_DIR": str(cache),
            "HF_HUB_OFFLINE": "1",
        }
        _run(["ingest", "ingest/sample_handbook", "--index", "policies", "--promote"], env)  # exports, records
        commands = {"ask": ["ask", QUESTION, "--index", "policies"], "versions": ["versions", "policies"]}
        times: dict[str, dict[str, list[float]]] = {c: {"recorded": [], "model load": []} for c in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                shutil.rmtree(cache / "sources", ignore_errors=True)
                times[name]["model load"].append(_run(command, env))  # loads torch; a model user records again
                times[name]["recorded"].append(_run(command, env))
        summary = {
            name: {
                mode: {
                    "median_s": round(statistics.median(values), 2),
                    "min_s": round(min(values), 2),
                    "max_s": round(max(values), 2),
                }
                for mode, values in modes.items()
            }
            for name, modes in times.items()
        }
    write_result("cli_startup", {"runs": args.runs, "load_average": os.getloadavg()[0], "seconds": summary})


if __name__ == "__main__":
    main()
