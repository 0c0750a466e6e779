"""Evaluation data sets on disk: BEIR folders and documents-plus-answer-spans folders.

Two layouts are read:

- **BEIR**: ``corpus.jsonl`` (``{"_id"|"id", "title", "text"}``), ``queries.jsonl``
  (``{"_id"|"id", "text"}``) and ``qrels.tsv`` or ``qrels/test.tsv`` (query id, corpus id, grade;
  a header line is skipped). A retrieved chunk counts for its document; documents are graded by
  the qrels.
- **spans**: ``documents.jsonl`` (``{"id", "title", "text"}``), ``queries.jsonl``
  (``{"id", "text", "doc_id"?}``) and ``answers.jsonl`` (``{"query_id", "spans": [{"doc_id",
  "doc_start", "doc_end"}]}``). A retrieved chunk is relevant when its character range overlaps a
  gold span of the query, so any chunking can be scored. A query's ``doc_id`` names the one
  document its retrieval is restricted to (the per-document setting).

Documents are kept verbatim (no loader, no normalization), so chunk offsets are offsets into the
text the answer spans refer to. Every malformed line is an error naming its file and line.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ingest.documents import LoadedDocument
from rag.errors import InvalidInput

__all__ = ["DatasetError", "EvalDataset", "EvalQuery", "GoldSpan", "load_dataset"]

Layout = Literal["beir", "spans"]


class DatasetError(InvalidInput):
    """An evaluation folder is missing files or holds a malformed line; the message says where."""

    code = "dataset_invalid"


@dataclass(frozen=True, slots=True)
class GoldSpan:
    """Characters ``[start, end)`` of document ``doc_id`` answer a query."""

    doc_id: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class EvalQuery:
    """One query with its judgments: graded documents (BEIR) or gold spans (spans layout).

    ``restrict_to`` names the only document retrieval may return (the per-document setting).
    """

    id: str
    text: str
    relevant_docs: dict[str, float] = field(default_factory=dict)
    spans: tuple[GoldSpan, ...] = ()
    restrict_to: str | None = None


@dataclass(frozen=True, slots=True)
class EvalDataset:
    """A loaded evaluation set; ``sha256`` digests every file read, so two runs can tell they used the same data."""

    name: str
    layout: Layout
    documents: list[LoadedDocument]
    queries: list[EvalQuery]
    sha256: str
    unjudged: int = 0
    """Queries left out because nothing judges them (no qrels, or no span)."""


def _jsonl(path: Path, digest: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise DatasetError(f"{path.name} is missing from {path.parent.name}/")
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            digest.update(raw)
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path.name} line {number}: not JSON ({exc.msg})") from exc
            if not isinstance(item, dict):
                raise DatasetError(f"{path.name} line {number}: expected a JSON object")
            yield number, item


def _field(item: dict[str, Any], names: tuple[str, ...], where: str, kind: type = str) -> Any:
    for name in names:
        if name in item and isinstance(item[name], kind):
            return item[name]
    raise DatasetError(f"{where}: needs {' or '.join(repr(n) for n in names)} ({kind.__name__})")


def detect_layout(folder: Path) -> Layout:
    """``spans`` when the folder has documents.jsonl and answers.jsonl, else ``beir`` when it has a corpus."""
    if (folder / "documents.jsonl").is_file() and (folder / "answers.jsonl").is_file():
        return "spans"
    if (folder / "corpus.jsonl").is_file():
        return "beir"
    raise DatasetError(
        f"{folder.name}/ is neither a BEIR folder (corpus.jsonl, queries.jsonl, qrels.tsv) nor a spans "
        "folder (documents.jsonl, queries.jsonl, answers.jsonl)"
    )


def load_dataset(folder: Path, layout: Layout | None = None, *, limit: int | None = None) -> EvalDataset:
    """Read an evaluation folder in ``layout`` (detected when None); ``limit`` keeps the first queries.

    Raises ``DatasetError`` for a missing folder or file, a malformed line, a duplicate id, or a
    judgment naming an unknown query or document.
    """
    if not folder.is_dir():
        raise DatasetError(f"evaluation folder {folder} does not exist")
    layout = layout or detect_layout(folder)
    digest = hashlib.sha256()
    if layout == "beir":
        documents = _documents(folder / "corpus.jsonl", digest)
        queries, unjudged = _beir_queries(folder, digest, {d.doc_id for d in documents})
    else:
        documents = _documents(folder / "documents.jsonl", digest)
        queries, unjudged = _span_queries(folder, digest, {d.doc_id: len(d.text) for d in documents})
    if limit is not None:
        queries = queries[:limit]
    if not queries:
        raise DatasetError(f"{folder.name}/ has no judged query")
    return EvalDataset(folder.name, layout, documents, queries, digest.hexdigest(), unjudged)


def _documents(path: Path, digest: Any) -> list[LoadedDocument]:
    documents: dict[str, LoadedDocument] = {}
    for number, item in _jsonl(path, digest):
        where = f"{path.name} line {number}"
        doc_id = str(_field(item, ("_id", "id"), where, object))
        if doc_id in documents:
            raise DatasetError(f"{where}: duplicate document id {doc_id!r}")
        text = _field(item, ("text",), where)
        title = item.get("title")
        documents[doc_id] = LoadedDocument(
            doc_id=doc_id,
            title=title.strip() if isinstance(title, str) else "",
            source=doc_id,
            format="text",
            text=text,
            metadata={},
        )
    if not documents:
        raise DatasetError(f"{path.name} holds no document")
    return list(documents.values())


def _query_texts(path: Path, digest: Any) -> dict[str, tuple[str, str | None]]:
    texts: dict[str, tuple[str, str | None]] = {}
    for number, item in _jsonl(path, digest):
        where = f"{path.name} line {number}"
        qid = str(_field(item, ("_id", "id"), where, object))
        if qid in texts:
            raise DatasetError(f"{where}: duplicate query id {qid!r}")
        restrict = item.get("doc_id")
        texts[qid] = (_field(item, ("text",), where), str(restrict) if restrict is not None else None)
    return texts


def _beir_queries(folder: Path, digest: Any, doc_ids: set[str]) -> tuple[list[EvalQuery], int]:
    texts = _query_texts(folder / "queries.jsonl", digest)
    qrels_path = folder / "qrels.tsv"
    if not qrels_path.is_file():
        qrels_path = folder / "qrels" / "test.tsv"
    if not qrels_path.is_file():
        raise DatasetError(f"{folder.name}/ has no qrels.tsv (or qrels/test.tsv)")
    grades: dict[str, dict[str, float]] = {}
    raw = qrels_path.read_bytes()
    digest.update(raw)
    for number, row in enumerate(csv.reader(raw.decode("utf-8").splitlines(), delimiter="\t"), start=1):
        if not row or (number == 1 and not row[-1].strip().lstrip("-").isdigit()):
            continue  # blank line or header
        where = f"{qrels_path.name} line {number}"
        if len(row) < 3:
            raise DatasetError(f"{where}: expected query id, corpus id and grade")
        qid, doc_id, grade = row[0], row[1], row[-1]
        if qid not in texts:
            raise DatasetError(f"{where}: unknown query {qid!r}")
        if doc_id not in doc_ids:
            raise DatasetError(f"{where}: unknown document {doc_id!r}")
        try:
            grades.setdefault(qid, {})[doc_id] = float(grade)
        except ValueError as exc:
            raise DatasetError(f"{where}: grade {grade!r} is not a number") from exc
    queries = [
        EvalQuery(id=qid, text=text, relevant_docs=grades[qid], restrict_to=restrict if restrict in doc_ids else None)
        for qid, (text, restrict) in texts.items()
        if any(g > 0 for g in grades.get(qid, {}).values())
    ]
    return queries, len(texts) - len(queries)


def _span_queries(folder: Path, digest: Any, lengths: dict[str, int]) -> tuple[list[EvalQuery], int]:
    texts = _query_texts(folder / "queries.jsonl", digest)
    spans: dict[str, list[GoldSpan]] = {}
    path = folder / "answers.jsonl"
    for number, item in _jsonl(path, digest):
        where = f"{path.name} line {number}"
        qid = str(_field(item, ("query_id",), where, object))
        if qid not in texts:
            raise DatasetError(f"{where}: unknown query {qid!r}")
        for span in _field(item, ("spans",), where, list):
            if not isinstance(span, dict):
                raise DatasetError(f"{where}: a span must be an object")
            doc_id = str(_field(span, ("doc_id",), where, object))
            start, end = _field(span, ("doc_start",), where, int), _field(span, ("doc_end",), where, int)
            if doc_id not in lengths:
                raise DatasetError(f"{where}: unknown document {doc_id!r}")
            if not 0 <= start < end <= lengths[doc_id]:
                raise DatasetError(f"{where}: span [{start}, {end}) lies outside document {doc_id!r}")
            spans.setdefault(qid, []).append(GoldSpan(doc_id, start, end))
    queries = []
    for qid, (text, restrict) in texts.items():
        if qid not in spans:
            continue
        if restrict is not None and restrict not in lengths:
            raise DatasetError(f"queries.jsonl: query {qid!r} names unknown document {restrict!r}")
        queries.append(EvalQuery(id=qid, text=text, spans=tuple(spans[qid]), restrict_to=restrict))
    return queries, len(texts) - len(queries)
