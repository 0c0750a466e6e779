"""The handbook question set, today's code against a baseline commit, in one run and one table.

    python bench/handbook_qa.py --baseline b0cdd18            # both, then one table
    python bench/handbook_qa.py --reuse                       # score the raw files of the last run again

For each system (a git worktree of the baseline commit, and this checkout) a subprocess builds the
handbooks into a fresh data folder and asks every question (bench/_qa_observe.py); the answers are
then scored here with this checkout's scorer (rag.evaluation.question_runner), so both are judged
by the same rules. Build time is measured in the same run. Data come from ../shared/data (or
RAG_SHARED_DATA) at run time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SHARED_DATA
from rag.evaluation.question_report import GROUP_ROWS, ROWS
from rag.evaluation.question_runner import Observed, score_observed
from rag.evaluation.question_set import load_question_set

RESULTS = ROOT / "bench" / "results" / "handbook_qa"


def observe(tree: Path, questions: Path, corpus: Path, out: Path) -> dict[str, Any]:
    """Run the observing driver against the code in ``tree``; return its JSON.

    The index is given the question set as its calibration questions (``RAG_CALIBRATION_SETS``; a
    checkout that predates calibration ignores the setting), so refusal figures of a calibrated
    system are in-sample; the manifest's cross-validated figures are printed beside them.
    """
    with tempfile.TemporaryDirectory(prefix="qa-data-") as data:
        env = {**os.environ, "PYTHONPATH": str(tree), "RAG_CALIBRATION_SETS": json.dumps({"handbooks": str(questions)})}
        env.pop("RAG_GOLDEN_SET", None)
        env.pop("RAG_DATA_DIR", None)
        cmd = [sys.executable, str(ROOT / "bench" / "_qa_observe.py"), "--questions", str(questions)]
        cmd += ["--corpus", str(corpus), "--data-dir", data, "--out", str(out)]
        subprocess.run(cmd, check=True, cwd=tree, env=env)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def main() -> None:
    """Observe both systems (or reuse their raw files), score, print and save one table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=None, help="git ref of the baseline (omit: this checkout only)")
    parser.add_argument("--questions", type=Path, default=SHARED_DATA / "handbook-qa-dev")
    parser.add_argument("--corpus", type=Path, default=SHARED_DATA / "handbooks")
    parser.add_argument("--reuse", action="store_true", help="score the raw files of the last run again")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    qset = load_question_set(args.questions)
    systems: list[tuple[str, Path]] = []
    if args.baseline or (args.reuse and (RESULTS / "baseline.json").exists()):
        systems.append(("baseline", RESULTS / "baseline.json"))
    systems.append(("current", RESULTS / "current.json"))
    raw: dict[str, dict[str, Any]] = {}
    for name, out in systems:
        if args.reuse:
            raw[name] = json.loads(out.read_text())
            continue
        if name == "baseline":
            tree = Path(tempfile.mkdtemp(prefix="qa-baseline-"))
            subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.baseline], check=True, cwd=ROOT)
            try:
                raw[name] = observe(tree, args.questions / "questions.jsonl", args.corpus, out)
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], check=False, cwd=ROOT)
                shutil.rmtree(tree, ignore_errors=True)
        else:
            raw[name] = observe(ROOT, args.questions / "questions.jsonl", args.corpus, out)
    scored = {}
    for name, data in raw.items():
        metrics, by_group, per_query = score_observed(qset, [Observed(**o) for o in data["observed"]])
        latencies = sorted(o["latency_ms"] for o in data["observed"])
        scored[name] = (metrics, by_group, latencies)
        (RESULTS / f"{name}.scored.json").write_text(
            json.dumps({"metrics": metrics, "by_group": by_group, "per_query": per_query}, indent=1)
        )
    names = list(scored)
    lines = ["| figure | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, key in ROWS:
        lines.append(f"| {label} | " + " | ".join(f"{scored[n][0][key]:.3f}" for n in names) + " |")
    for group in sorted(scored[names[-1]][1]):
        for label, key in GROUP_ROWS:
            lines.append(f"| {group}: {label} | " + " | ".join(f"{scored[n][1][group][key]:.3f}" for n in names) + " |")
    p = {n: scored[n][2] for n in names}
    lines.append("| answer latency p50 (ms) | " + " | ".join(f"{p[n][len(p[n]) // 2]:.1f}" for n in names) + " |")
    lines.append(
        "| answer latency p95 (ms) | " + " | ".join(f"{p[n][int(0.95 * (len(p[n]) - 1))]:.1f}" for n in names) + " |"
    )
    lines.append("| full build of the handbooks (s) | " + " | ".join(f"{raw[n]['build_s']:.1f}" for n in names) + " |")
    lines.append("| chunks | " + " | ".join(str(raw[n]["chunks"]) for n in names) + " |")
    for label, key in (("false refusals", "false_refusal"), ("refused unanswerable", "refused_unanswerable")):
        cells = []
        for n in names:
            refusal = raw[n].get("refusal")
            cells.append(
                f"{refusal['cross_validated'][key]:.3f}" if refusal and key in refusal["cross_validated"] else "-"
            )
        lines.append(f"| {label}, cross-validated (manifest) | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(
        f"{qset.name}: {len(qset.answerable)} answerable, {len(qset.unanswerable)} unanswerable "
        f"(sha256 {qset.sha256[:12]})"
    )
    print(table)
    (RESULTS / "table.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
