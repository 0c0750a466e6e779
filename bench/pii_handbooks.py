"""PII redaction on the real handbooks: values redacted and kept by kind, and the dev set's contact facts.

Run: ``python bench/pii_handbooks.py`` (reads ``../shared/data/handbooks`` and
``../shared/data/handbook-qa-dev`` at run time; ``RAG_SHARED_DATA`` points elsewhere). Each file is
loaded and normalized as a build loads it, the default redactor learns the corpus's contact points
(``Redactor.for_documents``, as ``Builder`` does) and redacts every document's text. Prints, by
kind, the values redacted and kept (occurrences and distinct values, kept ones by reason), then,
for every answerable dev question whose key fact holds an email address or a phone number,
whether that value survives in the redacted text of the gold file.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import SHARED_DATA
from ingest.contacts import KEEP_REASONS
from ingest.loaders import LoadError, load_document
from ingest.pii import PII_KINDS, Redactor
from ingest.sources import discover

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d?[\s(.-]*\d{3}[\s).-]+\d{3}[\s.-]+\d{4}")


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).lower()


def main() -> None:
    root = SHARED_DATA / "handbooks"
    files, _ = discover(root)
    texts: dict[str, str] = {}
    for f in files:
        try:
            texts[f.name] = load_document(f.path, f.name).text
        except LoadError as exc:
            print(f"skipped {f.name}: {exc.reason}", file=sys.stderr)
    redactor = Redactor().for_documents(texts.values())
    redacted: Counter[str] = Counter()
    kept: Counter[tuple[str, str]] = Counter()
    distinct: dict[tuple[str, str], set[str]] = {}
    stored: dict[str, str] = {}
    for name, text in texts.items():
        result = redactor.redact(text)
        stored[name] = result.text
        for m in result.matches:
            redacted[m.kind] += 1
            distinct.setdefault((m.kind, "redacted"), set()).add(text[m.start : m.end].lower())
        for m in result.kept:
            kept[(m.kind, m.kept or "")] += 1
            distinct.setdefault((m.kind, "kept"), set()).add(text[m.start : m.end].lower())
    print(f"{len(texts)} documents; organisation domains derived: {len(redactor.contacts.domains)}")
    print("| kind | redacted (distinct) | kept (distinct) | kept by reason |")
    print("| --- | --- | --- | --- |")
    for kind in PII_KINDS:
        n_kept = sum(n for (k, _), n in kept.items() if k == kind)
        reasons = ", ".join(f"{r} {kept[(kind, r)]}" for r in KEEP_REASONS if kept[(kind, r)]) or "-"
        print(
            f"| {kind} | {redacted[kind]} ({len(distinct.get((kind, 'redacted'), ()))}) "
            f"| {n_kept} ({len(distinct.get((kind, 'kept'), ()))}) | {reasons} |"
        )
    print()
    print("| question | contact value | in the gold file | survives redaction |")
    print("| --- | --- | --- | --- |")
    survived = total = 0
    for line in (SHARED_DATA / "handbook-qa-dev" / "questions.jsonl").read_text().splitlines():
        q = json.loads(line)
        if not q["answerable"]:
            continue
        values = _EMAIL.findall(q["key_fact"]) + [v.strip() for v in _PHONE.findall(q["key_fact"])]
        for value in values:
            raw, kept_text = _flat(texts.get(q["gold_path"], "")), _flat(stored.get(q["gold_path"], ""))
            ok = _flat(value) in kept_text
            total += 1
            survived += ok
            print(f"| {q['id']} | {value} | {'yes' if _flat(value) in raw else 'no'} | {'yes' if ok else 'no'} |")
    print(f"\ncontact values surviving redaction: {survived}/{total}")


if __name__ == "__main__":
    main()
