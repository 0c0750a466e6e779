"""Assistant.stream: the same steps as ask, eager errors, and nothing recorded when a stream is abandoned."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from rag.answer_stream import Citations, Delta, Final
from rag.answering.openai_answerer import OpenAIAnswerer
from rag.errors import IndexNotFound, InvalidInput
from tests.conftest import ServicesFactory
from tests.support.openai_server import OpenAITestServer

QUESTION = "How many days of annual leave do full-time employees get?"


def test_errors_are_raised_before_any_event(services_factory: ServicesFactory, sample_copy: Path) -> None:
    assistant = services_factory(sample_copy).assistant
    with pytest.raises(InvalidInput):
        assistant.stream("   ")
    with pytest.raises(IndexNotFound):
        assistant.stream(QUESTION, "handbook")


def test_events_end_with_the_logged_record(services_factory: ServicesFactory, sample_copy: Path) -> None:
    services = services_factory(sample_copy)
    events = list(services.assistant.stream(QUESTION))
    assert isinstance(events[-1], Final) and isinstance(events[-2], Citations)
    assert all(isinstance(e, Delta) for e in events[:-2])
    record = events[-1].record
    assert services.answers.get(record.answer_id) == record.model_dump(mode="json")


def test_an_abandoned_stream_records_nothing_and_closes_the_model_response(
    services_factory: ServicesFactory, sample_copy: Path
) -> None:
    with OpenAITestServer() as server:
        server.reply_with("You get 28 days [1]. " * 20)
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        services = services_factory(sample_copy, answerer=OpenAIAnswerer(client, "m"))
        before = services.answers.count()
        events = services.assistant.stream(QUESTION)
        first = next(iter(events))
        assert isinstance(first, Delta)
        events.close()  # type: ignore[attr-defined]
        assert services.answers.count() == before
        client.close()
