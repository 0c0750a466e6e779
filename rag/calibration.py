"""Calibrating a version's refusal decision on its index's golden questions, at build time.

Golden questions for calibration come in either of two forms:

- a question set (a folder holding ``questions.jsonl``, or that file): records with
  ``question`` and ``answerable`` (see :mod:`rag.evaluation.question_set`);
- a golden set file (``{"id", "question", "doc_ids"}`` per line, all answerable) with an
  ``unanswerable.jsonl`` beside it (``{"id", "question"}`` per line).

The sealed version is searched exactly as a question to ``/v1/ask`` would be; the fitted
:class:`rag.refusal.RefusalModel` goes into the manifest (``refusal``), with its figures. A set
too small to calibrate on leaves the manifest without one and says why in
``evaluation["calibration"]``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from indexes.manifest import Manifest
from indexes.versions import ResolvedVersion
from ingest.sparse import SparseEncoder
from rag.errors import InvalidInput
from rag.refusal import FEATURES, calibrate, refusal_signals
from rag.retrieval import Retriever
from rag.term_match import weakest_term_similarity

__all__ = ["CalibrationSet", "Calibrator", "load_calibration_set"]


@dataclass(frozen=True, slots=True)
class CalibrationSet:
    """Questions and whether the index answers each; ``name`` and ``sha256`` identify the files read."""

    name: str
    sha256: str
    questions: tuple[tuple[str, bool], ...]


def _lines(path: Path, digest: hashlib._Hash) -> list[dict[str, object]]:
    if not path.is_file():
        raise InvalidInput(f"calibration questions {path.name} not found")
    raw = path.read_bytes()
    digest.update(raw)
    rows = []
    for number, line in enumerate(raw.decode().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path.name} line {number}: not JSON ({exc.msg})") from exc
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            raise InvalidInput(f"{path.name} line {number}: needs a 'question'")
        rows.append(item)
    return rows


def load_calibration_set(path: Path) -> CalibrationSet:
    """Read a question set (folder or ``questions.jsonl``) or a golden set with ``unanswerable.jsonl`` beside it."""
    digest = hashlib.sha256()
    file = path / "questions.jsonl" if path.is_dir() else path
    rows = _lines(file, digest)
    if rows and "answerable" in rows[0]:
        questions = tuple((str(r["question"]), r.get("answerable") is True) for r in rows)
        name = file.parent.name if file.name == "questions.jsonl" else file.name
    else:
        negatives = _lines(file.parent / "unanswerable.jsonl", digest)
        questions = tuple((str(r["question"]), True) for r in rows) + tuple(
            (str(r["question"]), False) for r in negatives
        )
        name = file.name
    return CalibrationSet(name=name, sha256=digest.hexdigest(), questions=questions)


class Calibrator:
    """Fits a refusal model for each sealed version of the indexes that have calibration questions."""

    def __init__(
        self,
        retriever: Retriever,
        sets: dict[str, Path],
        *,
        top_k: int,
        max_false_refusal: float,
        features: tuple[str, ...] = FEATURES,
    ) -> None:
        self.retriever = retriever
        self.sets = sets
        self.top_k = top_k
        self.max_false_refusal = max_false_refusal
        self.features = features
        self._terms = SparseEncoder()

    def __call__(self, manifest: Manifest) -> Manifest:
        """``manifest`` with ``refusal`` set (or the reason it could not be, in ``evaluation``)."""
        path = self.sets.get(manifest.index)
        if path is None:
            return manifest
        qset = load_calibration_set(path)
        version = ResolvedVersion(manifest.index, None, manifest.version, manifest)
        embedder = self.retriever.embedder_for(version)
        signals = []
        for q, _ in qset.questions:
            hits = self.retriever.search(version, q, self.top_k)
            focus = self.retriever.focus(version, q)
            weakest = (
                weakest_term_similarity(focus, hits, embedder) if "weakest_term_similarity" in self.features else None
            )
            signals.append(refusal_signals(q, hits, self._terms, focus, weakest_term=weakest))
        answerable = [a for _, a in qset.questions]
        info = {
            "name": qset.name,
            "sha256": qset.sha256,
            "answerable": sum(answerable),
            "unanswerable": len(answerable) - sum(answerable),
            "max_false_refusal": self.max_false_refusal,
        }
        try:
            model = calibrate(
                signals, answerable, fitted_on=info, max_false_refusal=self.max_false_refusal, features=self.features
            )
        except ValueError as exc:
            note = {**info, "error": str(exc)}
            return manifest.model_copy(update={"evaluation": {**manifest.evaluation, "calibration": note}})
        return manifest.model_copy(update={"refusal": model.model_dump(mode="json")})
