"""Planted model answers: does the answer check catch a changed figure, a wrong citation, an invented
sentence, without flagging faithful answers?

The gold files of the handbook dev set (``handbook-qa-dev``: every answerable question's gold and
also-ok files) are built into one index. For each answerable question the assistant runs its real
path (retrieval, refusal decision, answer prompt answer/v2) against an OpenAI-protocol test server
on loopback whose "model" writes a planted answer from the numbered sources in the prompt:

- ``faithful``: the dev set's reference answer (a person's paraphrase), every sentence citing the
  retrieved sources of the gold files, those holding the answer phrase first (at most three);
- ``changed_figure``: the same answer with its first figure changed (26 -> 27, three -> four);
- ``wrong_citation``: the same answer citing the best-ranked retrieved source of another file;
- ``invented_sentence``: the faithful answer plus one plausible policy sentence no source states,
  citing the same source.

A question whose answer phrase is in no retrieved source, or that is refused before the model is
called, plants nothing (a faithful model could not have answered it). A fault counts as caught when
the answer comes back ``grounded: false``; a faithful answer so marked is a false flag. The result
also shows catch and false-flag rates for other word-overlap thresholds (from the recorded
per-sentence overlaps), which is how the default ``RAG_GROUNDING_MIN_OVERLAP`` was chosen.

    python bench/grounding_planted.py [--data PATH/handbook-qa-dev] [--min-overlap 0.5] [--cite evidence]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import SHARED_DATA, write_result
from rag.answering.figures import figures
from rag.records import AnswerRecord
from rag.sentences import split_sentences
from rag.settings import Settings
from rag.wiring import build_services
from tests.support.openai_server import OpenAITestServer

__all__ = ["KINDS", "Source", "parse_sources", "plant"]

KINDS = ("faithful", "changed_figure", "wrong_citation", "invented_sentence")
INVENTED = [
    "Exceptions to this rule need written approval from the Chief People Officer",
    "Contractors and interns are covered by the same rule as permanent staff",
    "Requests made during the annual holiday freeze are approved automatically",
    "Unused balances can be exchanged for cash at the end of each quarter",
    "Managers must review every such request within 48 hours",
    "A second violation of this rule leads to a formal written warning",
    "Employees on probation must also inform the compliance office",
    "The rule was introduced in 2019 after an internal audit",
    "Part-time employees receive half of this entitlement",
    "The finance team reimburses up to $250 of related costs each year",
]
_HEADER = re.compile(r"^\[(\d+)\] (.*) \((.+?)(?:, page \d+)?\)$")
_NORM = re.compile(r"[^a-z0-9]+")
_NUMBER_NAMES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
_WORD_NUMBERS = {w: i for i, w in enumerate(_NUMBER_NAMES.split(" "))}
_FIGURE = re.compile(r"\d+(?:\.\d+)?|\b(?:" + "|".join(list(_WORD_NUMBERS)[2:]) + r")\b", re.IGNORECASE)


class Source:
    """One numbered source of the prompt: its number, the file it comes from and its text."""

    def __init__(self, n: int, path: str, text: str) -> None:
        self.n, self.path, self.text = n, path, text


def parse_sources(prompt: str) -> list[Source]:
    """The numbered sources of a rendered answer prompt, in order."""
    body = prompt.split("<<<SOURCES", 1)[-1].split("SOURCES>>>", 1)[0]
    sources: list[Source] = []
    lines: list[str] = []
    for line in body.split("\n"):
        header = _HEADER.match(line)
        if header and int(header.group(1)) == len(sources) + 1:
            if sources:
                sources[-1].text = "\n".join(lines)
            sources.append(Source(int(header.group(1)), header.group(3), ""))
            lines = []
        else:
            lines.append(line)
    if sources:
        sources[-1].text = "\n".join(lines)
    return sources


def _norm(text: str) -> str:
    return " " + _NORM.sub(" ", text.lower()).strip() + " "


def _cite(answer: str, markers: str) -> str:
    """Every sentence of ``answer`` ending with ``markers`` before its full stop."""
    out = []
    for sentence in split_sentences(answer):
        body = sentence.rstrip()
        end = body[-1] if body[-1] in ".!?" else "."
        body = body[:-1] if body[-1] in ".!?" else body
        out.append(f"{body} {markers}{end}")
    return " ".join(out)


def _changed(match: re.Match[str]) -> str:
    word = match.group(0)
    if word.lower() in _WORD_NUMBERS:
        value = _WORD_NUMBERS[word.lower()] + 1
        names = {i: w for w, i in _WORD_NUMBERS.items()}
        new = names.get(value, str(value))
        return new.capitalize() if word[0].isupper() else new
    if "." in word:
        return f"{float(word) + 1:g}"
    value = int(word)
    return str(value + 1 if value <= 12 or 1900 <= value <= 2100 else value * 2)


def _change_figure(answer: str, key_fact: str) -> str | None:
    """``answer`` with one figure changed: the first one the key fact also states, else the first."""
    found = list(_FIGURE.finditer(answer))
    if not found:
        return None
    key = set(figures(key_fact))
    target = next((m for m in found if set(figures(m.group(0))) & key), found[0])
    return answer[: target.start()] + _changed(target) + answer[target.end() :]


def plant(question: dict[str, Any], sources: list[Source], serial: int, cite: str = "gold") -> dict[str, str | None]:
    """The planted answers of every kind for ``question`` given the prompt's ``sources`` (None: not plantable).

    ``cite="gold"``: faithful sentences cite the retrieved gold-file sources (those holding the
    answer phrase first, at most three); ``"evidence"``: only those holding the phrase (at most two).
    """
    gold = {question["gold_path"], *question.get("also_ok_paths", [])}
    phrase = _norm(question["answer_phrase"])
    evidence = [s.n for s in sources if s.path in gold and phrase in _norm(s.text)]
    if not evidence:
        return dict.fromkeys(KINDS)
    related = [s.n for s in sources if s.path in gold and s.n not in evidence]
    cited = [*evidence, *related][:3] if cite == "gold" else evidence[:2]
    markers = "".join(f"[{n}]" for n in cited)
    answer = question["answer"]
    faithful = _cite(answer, markers)
    changed = _change_figure(answer, question["key_fact"])
    other = [s.n for s in sources if s.path not in gold and phrase not in _norm(s.text)]
    invented = INVENTED[serial % len(INVENTED)]
    return {
        "faithful": faithful,
        "changed_figure": _cite(changed, markers) if changed else None,
        "wrong_citation": _cite(answer, f"[{other[0]}]") if other else None,
        "invented_sentence": f"{faithful} {invented} {markers}.",
    }


def _copy_gold_files(questions: list[dict[str, Any]], corpus: Path, target: Path) -> int:
    paths = {q["gold_path"] for q in questions} | {p for q in questions for p in q.get("also_ok_paths", [])}
    for rel in sorted(paths):
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(corpus / rel, target / rel)
    return len(paths)


def _flagged(record: AnswerRecord, min_overlap: float) -> bool:
    """Would the answer be flagged with ``min_overlap`` as the word threshold (from its recorded support)?"""
    for s in record.support:
        hard = [p for p in s.problems if p != "words_not_in_source"]
        if hard or s.overlap < min_overlap:
            return True
    return False


def run(data: Path, min_overlap: float, cite: str = "gold") -> dict[str, Any]:
    questions = [json.loads(line) for line in (data / "questions.jsonl").read_text().splitlines() if line.strip()]
    answerable = [q for q in questions if q["answerable"]]
    corpus = data.parent / "handbooks"
    with tempfile.TemporaryDirectory() as tmp, OpenAITestServer() as server:
        folder = Path(tmp) / "gold"
        files = _copy_gold_files(answerable, corpus, folder)
        settings = Settings(
            _env_file=None,
            data_dir=Path(tmp) / "data",
            qdrant_url=None,
            llm_model="planted-answers",
            llm_base_url=server.base_url,
            llm_max_retries=0,
            grounding_min_overlap=min_overlap,
        )
        services = build_services(settings)
        try:
            t0 = time.perf_counter()
            services.builder.build("gold", folder, promote=True)
            build_s = time.perf_counter() - t0
            results: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
            skipped = {"evidence_not_retrieved": 0, "refused": 0}
            for serial, q in enumerate(answerable):
                planted: dict[str, dict[str, str | None]] = {}
                first = _ask(services, server, q["question"], _responder(q, serial, planted, "faithful", cite))
                if first.refused and not planted:
                    skipped["refused"] += 1
                    continue
                if planted["all"]["faithful"] is None:
                    skipped["evidence_not_retrieved"] += 1
                    continue
                results["faithful"].append(_row(q, planted["all"]["faithful"], first))
                for kind in KINDS[1:]:
                    text = planted["all"][kind]
                    if text is None:
                        continue
                    record = _ask(services, server, q["question"], _responder(q, serial, planted, kind, cite))
                    results[kind].append(_row(q, text, record))
        finally:
            services.close()
    return {"cite": cite, **_summary(results, skipped, files, build_s, min_overlap)}


def _responder(
    q: dict[str, Any], serial: int, planted: dict[str, dict[str, str | None]], kind: str, cite: str
) -> Callable[[str], str]:
    """The test model's reply: the planted answer of ``kind``, planted once per question from its prompt."""

    def respond(prompt: str) -> str:
        if "all" not in planted:
            planted["all"] = plant(q, parse_sources(prompt), serial, cite)
        return planted["all"][kind] or "The policies do not cover this."

    return respond


def _ask(services: Any, server: OpenAITestServer, question: str, responder: Callable[[str], str]) -> AnswerRecord:
    server.respond_with(responder)
    record: AnswerRecord = services.assistant.ask(question, "gold", record=False)
    return record


def _row(q: dict[str, Any], planted: str, record: AnswerRecord) -> dict[str, Any]:
    return {"id": q["id"], "planted": planted, "record": record}


def _summary(
    results: dict[str, list[dict[str, Any]]], skipped: dict[str, int], files: int, build_s: float, min_overlap: float
) -> dict[str, Any]:
    faults = [r for k in KINDS[1:] for r in results[k]]
    sweep = []
    for th in (0.3, 0.4, 0.5, 0.6, 0.7):
        caught = sum(_flagged(r["record"], th) for r in faults)
        false = sum(_flagged(r["record"], th) for r in results["faithful"])
        sweep.append(
            {
                "min_overlap": th,
                "caught": round(caught / len(faults), 3),
                "false_flags": round(false / len(results["faithful"]), 3),
            }
        )
    by_kind = {}
    for kind in KINDS:
        rows = results[kind]
        flagged = [r for r in rows if not r["record"].grounded]
        by_kind[kind] = {"answers": len(rows), "flagged": len(flagged), "share": round(len(flagged) / len(rows), 3)}
    caught = sum(not r["record"].grounded for r in faults)
    missed = [
        {"id": r["id"], "kind": k, "planted": r["planted"]}
        for k in KINDS[1:]
        for r in results[k]
        if r["record"].grounded
    ]
    false_flags = [
        {"id": r["id"], "flagged": [s.model_dump() for s in r["record"].support if not s.supported]}
        for r in results["faithful"]
        if not r["record"].grounded
    ]
    return {
        "gold_files": files,
        "build_s": round(build_s, 1),
        "min_overlap": min_overlap,
        "skipped_questions": skipped,
        "by_kind": by_kind,
        "faults_caught": round(caught / len(faults), 3),
        "faults": len(faults),
        "false_flag_rate": by_kind["faithful"]["share"],
        "threshold_sweep": sweep,
        "missed_faults": missed,
        "false_flags": false_flags,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "handbook-qa-dev")
    parser.add_argument("--min-overlap", type=float, default=Settings.model_fields["grounding_min_overlap"].default)
    parser.add_argument(
        "--cite",
        choices=["gold", "evidence"],
        default="gold",
        help="faithful answers cite every retrieved gold-file source (gold) or only those holding the answer phrase",
    )
    args = parser.parse_args()
    name = "grounding_planted" if args.cite == "gold" else "grounding_planted_evidence"
    write_result(name, run(args.data, args.min_overlap, args.cite))


if __name__ == "__main__":
    main()
