"""A question naming one organisation of a two-organisation index is searched and answered in its folder only."""

from __future__ import annotations

from pathlib import Path

from indexes.refs import IndexRef
from tests.conftest import ServicesFactory

QUESTION = "How many vacation days do Globex employees get each year?"


def _corpus(root: Path) -> Path:
    topics = ["vacation", "travel", "expenses", "equipment", "security", "onboarding"]
    for org, days in (("acme", 20), ("globex", 25)):
        for i, topic in enumerate(topics):
            folder = root / org
            folder.mkdir(parents=True, exist_ok=True)
            body = f"# {org.title()} {topic} policy\n\n{org.title()} employees follow this {topic} policy.\n"
            if topic == "vacation":
                body += f"\nEvery {org.title()} employee gets {days} vacation days each year.\n"
            (folder / f"{i}-{topic}.md").write_text(body)
    return root


def test_a_scoped_question_searches_and_answers_its_folder_only(
    tmp_path: Path, services_factory: ServicesFactory
) -> None:
    corpus = _corpus(tmp_path / "corpus")
    services = services_factory(extractive_semantic=True)  # the default answerer, meaning signal on
    services.builder.build("orgs", corpus, promote=True)
    version = services.registry.resolve(IndexRef("orgs"))
    assert set(version.manifest.scopes) == {"acme", "globex"}

    scoped = services.assistant.retriever.search(version, QUESTION, 10)
    assert scoped and all(h.chunk.source.startswith("globex/") for h in scoped)
    unscoped = services.assistant.retriever.configured(scope_questions=False).search(version, QUESTION, 10)
    assert any(h.chunk.source.startswith("acme/") for h in unscoped)  # what scoping prevents

    record = services.assistant.ask(QUESTION, index="orgs", record=False)
    assert not record.refused
    assert "25 vacation days" in record.answer
    assert record.model.name == "extractive-v3-semantic"
    assert all(c.source.startswith("globex/") for c in record.citations)
