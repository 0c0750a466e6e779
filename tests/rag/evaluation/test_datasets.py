"""Evaluation folders: both layouts load verbatim; every malformed input is an error that says where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.evaluation.datasets import DatasetError, detect_layout, load_dataset
from tests.rag.evaluation.eval_data import POLICIES, QUESTIONS, write_beir, write_spans


def test_beir_folder_loads_documents_queries_and_grades(tmp_path: Path) -> None:
    data = load_dataset(write_beir(tmp_path / "mini"))
    assert (data.name, data.layout, data.unjudged) == ("mini", "beir", 0)
    assert [d.doc_id for d in data.documents] == list(POLICIES)
    assert data.documents[0].text == POLICIES["leave"][1] and data.documents[0].title == "Annual leave"
    assert {q.id: q.relevant_docs for q in data.queries} == {q: {doc: 1.0} for q, (_, doc, _) in QUESTIONS.items()}
    assert len(data.sha256) == 64


def test_spans_folder_keeps_offsets_into_the_verbatim_text(tmp_path: Path) -> None:
    data = load_dataset(write_spans(tmp_path / "mini"))
    texts = {d.doc_id: d.text for d in data.documents}
    for query in data.queries:
        (span,) = query.spans
        assert texts[span.doc_id][span.start : span.end] == QUESTIONS[query.id][2]
        assert query.restrict_to == QUESTIONS[query.id][1]


def test_layout_is_detected_and_a_limit_keeps_the_first_queries(tmp_path: Path) -> None:
    assert detect_layout(write_spans(tmp_path / "s")) == "spans"
    assert detect_layout(write_beir(tmp_path / "b")) == "beir"
    assert [q.id for q in load_dataset(tmp_path / "b", limit=2).queries] == ["q1", "q2"]
    with pytest.raises(DatasetError, match="neither a BEIR folder"):
        detect_layout(tmp_path)


def test_same_files_same_digest_and_a_change_changes_it(tmp_path: Path) -> None:
    folder = write_beir(tmp_path / "b")
    first = load_dataset(folder).sha256
    assert load_dataset(folder).sha256 == first
    (folder / "qrels.tsv").write_text((folder / "qrels.tsv").read_text().replace("q4\ttravel", "q4\tleave"))
    assert load_dataset(folder).sha256 != first


def test_queries_without_judgments_are_counted_not_scored(tmp_path: Path) -> None:
    folder = write_beir(tmp_path / "b")
    with (folder / "queries.jsonl").open("a") as fh:
        fh.write(json.dumps({"_id": "q9", "text": "Is there a gym?"}) + "\n")
    data = load_dataset(folder)
    assert data.unjudged == 1 and "q9" not in {q.id for q in data.queries}


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        ("corpus.jsonl", "{not json\n", "corpus.jsonl line 1: not JSON"),
        ("corpus.jsonl", '{"_id": "a", "title": "t"}\n', "corpus.jsonl line 1: needs 'text'"),
        ("corpus.jsonl", '{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n', "duplicate document id 'a'"),
        ("qrels.tsv", "query-id\tcorpus-id\tscore\nq1\tnope\t1\n", "qrels.tsv line 2: unknown document 'nope'"),
        ("qrels.tsv", "q0\tleave\t1\n", "qrels.tsv line 1: unknown query 'q0'"),
        ("qrels.tsv", "query-id\tcorpus-id\tscore\nq1\tleave\thigh\n", "grade 'high' is not a number"),
        ("queries.jsonl", "[1, 2]\n", "queries.jsonl line 1: expected a JSON object"),
    ],
)
def test_malformed_beir_input_names_file_and_line(tmp_path: Path, file: str, content: str, message: str) -> None:
    folder = write_beir(tmp_path / "b")
    (folder / file).write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_dataset(folder)


def test_spans_outside_their_document_or_naming_unknown_ones_are_errors(tmp_path: Path) -> None:
    folder = write_spans(tmp_path / "s")
    answers = folder / "answers.jsonl"
    answers.write_text(json.dumps({"query_id": "q1", "spans": [{"doc_id": "leave", "doc_start": 5, "doc_end": 10**6}]}))
    with pytest.raises(DatasetError, match="lies outside document 'leave'"):
        load_dataset(folder)
    answers.write_text(json.dumps({"query_id": "q1", "spans": [{"doc_id": "gym", "doc_start": 0, "doc_end": 3}]}))
    with pytest.raises(DatasetError, match="unknown document 'gym'"):
        load_dataset(folder)


def test_missing_folder_or_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")
    folder = write_beir(tmp_path / "b")
    (folder / "qrels.tsv").unlink()
    with pytest.raises(DatasetError, match=r"has no qrels\.tsv"):
        load_dataset(folder)
