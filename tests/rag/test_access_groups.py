"""Access groups end to end: front matter and folder defaults -> chunk payloads -> filtered answers.

The property test draws random documents (each with a unique marker word), random document groups,
random caller groups and random questions, builds them with the real embedder into Qdrant Edge,
and checks that no search hit, answer, citation, manifest listing or diff ever shows a document
outside the caller's groups, and that every document inside them stays findable.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexes.refs import IndexRef
from ingest.access_groups import AccessDefaults
from rag.access.visibility import restrict_manifest, visible_diff
from tests.conftest import ServicesFactory

GROUPS = ["hr", "finance", "legal"]
MARKERS = ["zorblat", "quenvik", "mirthal", "dravoke", "plenthor", "sculvane", "twindrel", "ombrisk"]
TOPICS = ["vacation days", "expense claims", "laptop security", "parental leave", "travel booking"]

_doc = st.tuples(
    st.sampled_from(TOPICS),
    st.one_of(st.none(), st.lists(st.sampled_from(GROUPS), min_size=1, max_size=2, unique=True)),
)
_counter = itertools.count()


def _write(folder: Path, docs: list[tuple[str, list[str] | None]], version_word: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.md"):
        old.unlink()
    for i, (topic, groups) in enumerate(docs):
        front = f"---\naccess_groups: [{', '.join(groups)}]\n---\n" if groups is not None else ""
        (folder / f"doc{i}.md").write_text(
            f"{front}# Policy on {topic}\n\nThe {MARKERS[i]} rule covers {topic}: "
            f"staff get {i + 3} {version_word} for {topic} after approval.\n",
            encoding="utf-8",
        )


def _allowed(docs: list[tuple[str, list[str] | None]], caller: list[str]) -> set[str]:
    visible = {*caller, "everyone"}
    return {f"doc{i}.md" for i, (_, groups) in enumerate(docs) if visible & set(groups or ["everyone"])}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    docs=st.lists(_doc, min_size=1, max_size=len(MARKERS)),
    caller=st.lists(st.sampled_from(GROUPS), max_size=3, unique=True),
    question=st.sampled_from([*TOPICS, *MARKERS, "how many days do staff get"]),
)
def test_nothing_outside_the_callers_groups_is_ever_seen(
    services_factory: ServicesFactory,
    tmp_path: Path,
    docs: list[tuple[str, list[str] | None]],
    caller: list[str],
    question: str,
) -> None:
    index = f"acl{next(_counter)}"
    services = services_factory(tmp_path / index / "data", pii_redaction=False)
    folder = tmp_path / index / "src"
    _write(folder, docs, "days")
    v1 = services.builder.build(index, folder, promote=True).manifest
    _write(folder, [*docs[1:], docs[0]], "weeks")  # every document changes; one moves to another file
    v2 = services.builder.build(index, folder, promote=True).manifest
    now = [*docs[1:], docs[0]]
    allowed_now = _allowed(now, caller)
    allowed_before = _allowed(docs, caller)
    groups = sorted({*caller, "everyone"})
    # doc<i>.md of the live version holds MARKERS[i]; the markers of documents the caller may not see:
    forbidden_markers = {MARKERS[i] for i in range(len(now)) if f"doc{i}.md" not in allowed_now}

    version = services.registry.resolve(IndexRef(index))
    hits = services.assistant.retriever.search(version, question, 50, groups=groups)
    assert {h.chunk.doc_id for h in hits} == allowed_now  # all allowed are findable, nothing else
    assert all(set(h.chunk.groups) & set(groups) for h in hits)

    record = services.assistant.ask(question, index, 10, groups=groups)
    assert {c.doc_id for c in record.citations} <= allowed_now
    assert not any(m in record.answer for m in forbidden_markers)
    assert not any(m in (c.quote or "") for c in record.citations for m in forbidden_markers)

    listed = restrict_manifest(v2, groups, "everyone")
    assert {d.doc_id for d in listed.documents} == allowed_now
    assert listed.chunk_count == sum(d.chunk_count for d in v2.documents if d.doc_id in allowed_now)
    diff = visible_diff(v1, v2, groups, "everyone")
    seen = {c.doc_id for c in diff.added + diff.changed + diff.removed}
    assert seen <= allowed_now | allowed_before
    assert diff.from_chunks == sum(d.chunk_count for d in v1.documents if d.doc_id in allowed_before)


def test_groups_come_from_front_matter_then_folder_then_default(
    services_factory: ServicesFactory, tmp_path: Path
) -> None:
    services = services_factory(folder_access_groups={"hr/": ["hr"], "hr/pay/": ["payroll"]})
    src = tmp_path / "src"
    (src / "hr" / "pay").mkdir(parents=True)
    (src / "open.md").write_text("# Open\n\nEveryone may read the cafeteria menu policy.\n")
    (src / "hr" / "leave.md").write_text("# Leave\n\nParental leave lasts sixteen weeks.\n")
    (src / "hr" / "pay" / "salary.md").write_text("# Salary\n\nSalary bands are reviewed each spring.\n")
    (src / "hr" / "exec.md").write_text("---\naccess_groups: board, legal\n---\n# Exec\n\nBoard pay is set yearly.\n")
    (src / "bad.md").write_text('---\naccess_groups: ["Not A Group!"]\n---\n# Bad\n\nSome text here.\n')
    m = services.builder.build("acl", src, promote=True).manifest
    groups = {d.doc_id: d.metadata["access_groups"] for d in m.documents}
    assert groups == {
        "open.md": ["everyone"],
        "hr/leave.md": ["hr"],
        "hr/pay/salary.md": ["payroll"],
        "hr/exec.md": ["board", "legal"],
    }
    # A malformed group never falls back to "everyone": the document is left out and reported.
    assert [e.source for e in m.errors] == ["bad.md"]
    assert "invalid access group" in m.errors[0].error
    version = services.registry.resolve(IndexRef("acl"))
    hits = services.assistant.retriever.search(version, "salary bands", 10, groups=["everyone", "hr"])
    assert {h.chunk.doc_id for h in hits} == {"open.md", "hr/leave.md"}


def test_a_groups_change_rewrites_the_payload_of_an_unchanged_document(
    services_factory: ServicesFactory, tmp_path: Path
) -> None:
    services = services_factory()
    src = tmp_path / "src"
    src.mkdir()
    doc = src / "pay.md"
    doc.write_text("---\naccess_groups: [hr]\n---\n# Pay\n\nSalaries are paid on the 25th of each month.\n")
    (src / "other.md").write_text("# Other\n\nThe office opens at eight in the morning.\n")
    services.builder.build("acl", src, promote=True)
    doc.write_text("---\naccess_groups: [finance]\n---\n# Pay\n\nSalaries are paid on the 25th of each month.\n")
    m = services.builder.build("acl", src, promote=True).manifest
    assert m.chunks_embedded == 0 and m.chunks_reused == m.chunk_count  # vectors reused, text unchanged
    version = services.registry.resolve(IndexRef("acl"))
    as_hr = services.assistant.retriever.search(version, "when are salaries paid", 10, groups=["everyone", "hr"])
    as_finance = services.assistant.retriever.search(version, "when are salaries paid", 10, groups=["finance"])
    assert "pay.md" not in {h.chunk.doc_id for h in as_hr}
    assert {h.chunk.doc_id for h in as_finance} == {"pay.md"}
    assert all(h.chunk.groups == ["finance"] for h in as_finance)


def test_changing_the_default_group_rewrites_documents_without_groups(
    services_factory: ServicesFactory, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.md").write_text("# A\n\nThe cafeteria serves lunch from noon.\n")
    data = tmp_path / "data"
    first = services_factory(data)
    first.builder.build("acl", src, promote=True)
    first.close()
    second = services_factory(data, default_access_group="staff")
    assert second.builder.access == AccessDefaults("staff", {})
    second.builder.build("acl", src, promote=True)
    version = second.registry.resolve(IndexRef("acl"))
    assert second.assistant.retriever.search(version, "lunch", 5, groups=["everyone"]) == []
    assert [h.chunk.doc_id for h in second.assistant.retriever.search(version, "lunch", 5, groups=["staff"])] == [
        "a.md"
    ]
