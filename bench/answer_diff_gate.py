"""What the answer diff adds to a gate run: the sample golden set (140 questions) on the sample handbook.

Builds the sample handbook as ``policies`` v1 (promoted) and a candidate v2 with 5 documents edited
(a number changed, a section rewritten, a sentence added, one document removed, one replaced),
with the production defaults (``Settings()``: hybrid retrieval, the extractive answerer choosing
sentences by words and meaning, the sample golden set as ``golden_set``, so builds calibrate their
refusals on it). Then ``--rounds`` times, interleaved in one run on the same candidate:

- the gate as it was: ``gate_evaluation`` (86 golden questions scored on both versions);
- the gate with the answer diff: ``gate_evaluation`` and then ``answer_gate`` (the 86 golden and
  54 unanswerable questions answered on both versions, the diff stored, stale questions found).

Before each answer-diff run the assistant gets a new extractive answerer, so every run starts with
an empty sentence-vector cache (as a gate run in a fresh worker does; earlier rounds of this
benchmark reused the cache of round 1). The added time is the difference of the two medians.
Target: <= 30 s on 2 cores.
Run: ``nice -n 10 python bench/answer_diff_gate.py [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, write_result
from rag.evaluation.answer_diff import diff_questions
from rag.evaluation.answer_gate import AnswerThresholds, answer_gate
from rag.evaluation.gate import gate_evaluation
from rag.evaluation.golden import load_golden_set
from rag.settings import Settings
from rag.wiring import build_answerer, build_services

WORK = ROOT / "bench" / ".work" / "answer_diff_gate"
SAMPLE = ROOT / "ingest" / "sample_handbook"
GOLDEN = ROOT / "ingest" / "sample_handbook_golden" / "golden.jsonl"


def _candidate(folder: Path) -> list[str]:
    """Edit 5 documents of a copy of the sample, as owners would; returns what was done."""
    shutil.copytree(SAMPLE, folder)
    leave = folder / "people/annual-leave.md"
    leave.write_text(leave.read_text().replace("28 working days", "26 working days"))
    remote = folder / "people/remote-work.md"
    remote.write_text(remote.read_text() + "\n\n## Co-working spaces\n\nCo-working spaces are not reimbursed.\n")
    travel = folder / "finance/travel.md"
    travel.write_text(travel.read_text().replace("economy", "the cheapest available"))
    (folder / "it/equipment.md").unlink()
    (folder / "people/sick-leave.md").write_text("# Sick Leave Policy\n\nAsk the People team.\n")
    return [
        "people/annual-leave.md: a number changed",
        "people/remote-work.md: a section added",
        "finance/travel.md: a phrase replaced",
        "it/equipment.md: removed",
        "people/sick-leave.md: replaced by two lines",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    edits = _candidate(WORK / "candidate")
    settings = Settings(_env_file=None, data_dir=WORK / "data", golden_set=GOLDEN, worker_enabled=False)
    services = build_services(settings)
    try:
        t0 = time.perf_counter()
        services.builder.build("policies", SAMPLE, promote=True)
        candidate = services.builder.build("policies", WORK / "candidate").manifest
        build_s = time.perf_counter() - t0
        golden = load_golden_set(GOLDEN)
        questions = diff_questions(golden, GOLDEN.parent)
        retriever, registry = services.assistant.retriever, services.registry

        def plain() -> dict[str, object]:
            return gate_evaluation(retriever, registry, "policies", candidate, golden, settings.gate_tolerance)

        def with_answers() -> dict[str, object]:
            return answer_gate(
                plain(),
                assistant=services.assistant,
                registry=registry,
                texts=services.texts,
                store=services.answer_diffs,
                manifest=candidate,
                golden=golden,
                questions=questions,
                thresholds=AnswerThresholds(),
            )

        plain()  # warm-up: models loaded, shards opened, caches filled
        runs: dict[str, list[float]] = {"gate": [], "gate_with_answer_diff": []}
        loads: list[float] = []
        last: dict[str, object] = {}
        for _ in range(args.rounds):
            for name, run in (("gate", plain), ("gate_with_answer_diff", with_answers)):
                if name == "gate_with_answer_diff":  # a new answerer: an empty sentence-vector cache
                    services.assistant.answerer = build_answerer(settings, services.embedder)
                t = time.perf_counter()
                result = run()
                runs[name].append(time.perf_counter() - t)
                loads.append(os.getloadavg()[0])
                if name == "gate_with_answer_diff":
                    last = result
    finally:
        services.close()
    median = {k: statistics.median(v) for k, v in runs.items()}
    answers = last["answers"]
    assert isinstance(answers, dict)
    write_result(
        "answer_diff_gate",
        {
            "questions": {"golden": len(golden), "answer_diff": len(questions)},
            "candidate_edits": edits,
            "answerer": answers["answerer"],
            "embedder": services.embedder.model_id,
            "build_seconds_both_versions": round(build_s, 1),
            "gate_seconds": [round(x, 1) for x in runs["gate"]],
            "gate_with_answer_diff_seconds": [round(x, 1) for x in runs["gate_with_answer_diff"]],
            "added_seconds_median": round(median["gate_with_answer_diff"] - median["gate"], 1),
            "answer_step_seconds_last": answers["seconds"],
            "summary": answers["summary"],
            "stale": answers["stale"],
            "load": f"1-min load average {min(loads):.1f}-{max(loads):.1f} during the runs (machine shared)",
            "target": "answer diff adds <= 30 s to a gate run on 2 cores",
        },
    )


if __name__ == "__main__":
    main()
