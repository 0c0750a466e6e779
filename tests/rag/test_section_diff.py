"""Section diffs: sections keyed by heading path; changed sentences side by side."""

from __future__ import annotations

from rag.section_diff import diff_sections, sections

BEFORE = """# Leave

Intro text.

## 1. Entitlement

You get 28 working days. Part-timers get a share.

## 2. Requests

Ask your manager two weeks ahead.

## 3. Carry-over

Up to five days carry over.
"""

AFTER = """# Leave

Intro   text.

## 1. Entitlement

You get 30 working days. Part-timers get a share. Long service adds a day.

## 2. Requests

Ask your manager two weeks ahead.

## 4. Sabbaticals

Unpaid sabbaticals of up to three months.
"""


def test_sections_follow_the_heading_path() -> None:
    found = sections(BEFORE)
    assert [s.heading_path for s in found] == [
        ("Leave",),
        ("Leave", "1. Entitlement"),
        ("Leave", "2. Requests"),
        ("Leave", "3. Carry-over"),
    ]
    assert found[1].text == "You get 28 working days. Part-timers get a share."
    twice = sections("# A\n\none\n\n# A\n\ntwo\n")
    assert [s.heading_path for s in twice] == [("A",), ("A (2)",)]


def test_diff_sections_added_removed_changed_with_sentence_pairs() -> None:
    changes = diff_sections(BEFORE, AFTER)
    summary = [(c.heading_path[-1], c.change) for c in changes]
    # white space alone is no change; untouched sections are not listed
    assert summary == [("1. Entitlement", "changed"), ("4. Sabbaticals", "added"), ("3. Carry-over", "removed")]
    changed = changes[0]
    assert [(p.before, p.after) for p in changed.sentences] == [
        ("You get 28 working days.", "You get 30 working days."),
        (None, "Long service adds a day."),
    ]
    assert changes[1].before is None and changes[1].after == "Unpaid sabbaticals of up to three months."
    assert changes[2].after is None and changes[2].before == "Up to five days carry over."
    assert diff_sections(BEFORE, BEFORE) == []
