"""A table row reads with its columns' names; a header row is known as one."""

from __future__ import annotations

from rag.answering.table_rows import header_of, is_header, spoken

TABLE = """Systems you will use:

| System | What it is for |
|---|:--|
| HR Links | To request and document leave online |
| Employee Express | To see your pay stubs and change withholdings |
"""


def test_a_row_is_read_with_its_header_and_the_header_is_known() -> None:
    row = TABLE.index("| Employee Express")
    assert header_of(TABLE, row) == ["System", "What it is for"]
    assert is_header(TABLE, TABLE.index("| System |") + len("| System | What it is for |"))
    assert not is_header(TABLE, row + 10)
    assert spoken("| Employee Express | To see your pay stubs |", ["System", "What it is for"]) == (
        "System: Employee Express; What it is for: To see your pay stubs."
    )
    assert spoken("| a | | c |\nprose stays", None) == "a; c.\nprose stays"  # empty cells left out
    assert spoken("| a | b |", ["only one column"]) == "a; b."  # a header of another width names nothing
    assert header_of("| a | b |\n| c | d |\n", 10) is None  # no separator: no header
