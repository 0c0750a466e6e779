"""Loading golden sets: good files load, malformed ones fail naming the file and the line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from rag.evaluation.golden import GoldenQuestion, GoldenSetError, load_golden, load_golden_set
from tests.conftest import GOLDEN_DIR

GOOD = [
    {
        "id": "a01",
        "question": "How many vacation days?",
        "doc_ids": ["people/annual-leave.md"],
        "answer": "28",
        "evidence": "28 working days",
    },
    {"id": "a02", "question": "Per diem?", "doc_ids": ["finance/travel.md", "finance/expenses.pdf"]},
]


def write(tmp_path: Path, lines: list[str], name: str = "golden.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def good_lines() -> list[str]:
    return [json.dumps(item) for item in GOOD]


def test_loads_questions_in_file_order(tmp_path: Path) -> None:
    path = write(tmp_path, good_lines())
    questions = load_golden(path)
    assert [q.id for q in questions] == ["a01", "a02"]
    assert questions[0].answer == "28" and questions[0].evidence == "28 working days"
    assert questions[1].answer is None and questions[1].evidence is None
    assert questions[1].doc_ids == ("finance/travel.md", "finance/expenses.pdf")
    assert questions[1].relevant == {"finance/travel.md", "finance/expenses.pdf"}


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = write(tmp_path, ["", good_lines()[0], "   ", good_lines()[1], ""])
    assert len(load_golden(path)) == 2


def test_golden_set_carries_name_digest_and_match(tmp_path: Path) -> None:
    path = write(tmp_path, good_lines(), name="my-golden.jsonl")
    golden = load_golden_set(path)
    assert golden.name == "my-golden.jsonl"
    assert golden.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert golden.match == "source"
    assert len(golden) == 2
    assert load_golden_set(path, match="doc_id").match == "doc_id"
    with pytest.raises(ValueError, match="match"):
        load_golden_set(path, match="title")  # type: ignore[arg-type]


def test_the_sample_golden_set_loads() -> None:
    questions = load_golden(GOLDEN_DIR / "golden.jsonl")
    assert len(questions) == 86
    assert len({q.id for q in questions}) == 86
    assert sum(len(q.doc_ids) > 1 for q in questions) == 8
    assert all(q.evidence for q in questions)


def test_questions_are_frozen() -> None:
    question = GoldenQuestion(id="a", question="q", doc_ids=("d",))
    with pytest.raises(ValueError):
        question.id = "b"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ('{"id": "a03", "question": "x", "doc_ids": ["a.md"]', "not valid JSON"),
        ('["a03", "x"]', "expected a JSON object, got list"),
        ('{"id": "a03", "doc_ids": ["a.md"]}', "question: Field required"),
        ('{"id": "a03", "question": "x", "doc_ids": []}', "doc_ids"),
        ('{"id": "a03", "question": "  ", "doc_ids": ["a.md"]}', "question"),
        ('{"id": "a03", "question": "x", "doc_ids": "a.md"}', "doc_ids"),
        ('{"id": "a03", "question": "x", "doc_ids": ["a.md"], "extra": 1}', "extra: Extra inputs are not permitted"),
        ('{"id": "a01", "question": "x", "doc_ids": ["a.md"]}', "duplicate id 'a01' (first on line 1)"),
        ('{"id": "a03", "question": "x", "doc_ids": ["a.md", "a.md"]}', "name a document twice"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, bad_line: str, expected: str) -> None:
    path = write(tmp_path, [*good_lines(), bad_line])
    with pytest.raises(GoldenSetError) as info:
        load_golden(path)
    message = str(info.value)
    assert message.startswith(f"{path}, line 3: ")
    assert expected in message


def test_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, [good_lines()[0], "", "not json"])
    with pytest.raises(GoldenSetError, match=r", line 3: not valid JSON"):
        load_golden(path)


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, ["", ""])
    with pytest.raises(GoldenSetError, match="holds no questions"):
        load_golden(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GoldenSetError, match="does not exist"):
        load_golden(tmp_path / "nope.jsonl")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "golden.jsonl"
    path.write_bytes(b'{"id": "a", "question": "caf\xe9", "doc_ids": ["a.md"]}\n')
    with pytest.raises(GoldenSetError, match="is not UTF-8"):
        load_golden(path)


def test_error_is_a_client_error() -> None:
    assert GoldenSetError.code == "golden_set_invalid"
    assert GoldenSetError.status == 422
