"""Small evaluation folders written by tests: a BEIR folder and a spans folder over made-up policies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

POLICIES = {
    "leave": (
        "Annual leave",
        "Employees receive 28 days of paid annual leave per year. Unused leave of up to five days may be "
        "carried over to the next year.\n\nLeave requests go to your manager two weeks in advance.",
    ),
    "travel": (
        "Travel",
        "Book flights through the travel desk. Economy class is the rule for flights under six hours.\n\n"
        "Hotel costs are refunded up to 150 euros per night in large cities.",
    ),
    "security": (
        "Passwords",
        "Passwords must be at least 14 characters long. Multi-factor authentication is required for email "
        "and the VPN.\n\nNever share your password with anyone, including the IT help desk.",
    ),
}
QUESTIONS = {
    "q1": ("How many days of paid annual leave do employees get?", "leave", "28 days of paid annual leave"),
    "q2": ("What is the hotel refund limit per night?", "travel", "up to 150 euros per night"),
    "q3": ("How long must a password be?", "security", "at least 14 characters long"),
    "q4": ("Which class must I book for short flights?", "travel", "Economy class is the rule"),
}


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def write_beir(folder: Path) -> Path:
    """corpus.jsonl, queries.jsonl and qrels.tsv (with header) for the policies and questions above."""
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "corpus.jsonl", [{"_id": k, "title": t, "text": x} for k, (t, x) in POLICIES.items()])
    _write(folder / "queries.jsonl", [{"_id": q, "text": text} for q, (text, _, _) in QUESTIONS.items()])
    rows = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{doc}\t1" for q, (_, doc, _) in QUESTIONS.items()]
    (folder / "qrels.tsv").write_text("\n".join(rows) + "\n")
    return folder


def write_spans(folder: Path, *, restrict: bool = True) -> Path:
    """documents.jsonl, queries.jsonl (restricted to their policy when ``restrict``) and answers.jsonl."""
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "documents.jsonl", [{"id": k, "title": t, "text": x} for k, (t, x) in POLICIES.items()])
    _write(
        folder / "queries.jsonl",
        [{"id": q, "text": text, **({"doc_id": doc} if restrict else {})} for q, (text, doc, _) in QUESTIONS.items()],
    )
    answers = []
    for q, (_, doc, answer) in QUESTIONS.items():
        start = POLICIES[doc][1].index(answer)
        answers.append({"query_id": q, "spans": [{"doc_id": doc, "doc_start": start, "doc_end": start + len(answer)}]})
    _write(folder / "answers.jsonl", answers)
    return folder
