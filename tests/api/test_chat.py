"""POST /v1/chat/completions through the real ``openai`` package, against the app served by uvicorn."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from api.app import create_app
from ingest.embedding import Embedder
from rag.wiring import build_services
from tests.conftest import make_settings
from tests.support.live_server import LiveServer

QUESTION = "How long must passwords be?"


@pytest.fixture(scope="module")
def live(built_sample: Path, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module, over a private copy of the built sample (the tests only read)."""
    data_dir = tmp_path_factory.mktemp("chat") / "data"
    shutil.copytree(built_sample, data_dir)
    app = create_app(make_settings(data_dir), services_factory=lambda s: build_services(s, embedder=embedder))
    with LiveServer(app) as server:
        # the OpenAI client sends its api_key as a Bearer token: an employee key of this app
        server.key = app.state.services.keys.create("chat-client", "employee", [], []).secret  # type: ignore[attr-defined]
        yield server


@pytest.fixture()
def chat(live: LiveServer) -> Iterator[openai.OpenAI]:
    key = live.key  # type: ignore[attr-defined]
    with openai.OpenAI(base_url=f"{live.url}/v1", api_key=key, max_retries=0) as client:
        yield client


def test_a_client_without_a_valid_key_is_refused(live: LiveServer) -> None:
    with (
        openai.OpenAI(base_url=f"{live.url}/v1", api_key="not-a-key", max_retries=0) as client,
        pytest.raises(openai.AuthenticationError),
    ):
        client.chat.completions.create(model="policies", messages=[{"role": "user", "content": QUESTION}])


def test_plain_completion_has_footnotes_and_citations(chat: openai.OpenAI) -> None:
    reply = chat.chat.completions.create(
        model="policies",
        messages=[
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi!"},
            {"role": "user", "content": QUESTION},
        ],
        temperature=0.2,
    )
    message = reply.choices[0].message
    assert reply.object == "chat.completion" and reply.model == "policies"
    assert reply.choices[0].finish_reason == "stop"
    text = message.content or ""
    extra = message.model_extra or {}
    citations = extra["citations"]
    assert citations and "14 characters" in text
    for c in citations:
        assert f"[{c['n']}]" in text.split("\n\n")[0]  # marker in the answer body
        assert f"\n[{c['n']}] {c['title']}" in text  # and a footnote naming its document
        assert c["source"] in text
    top = reply.model_extra or {}
    assert top["index"] == {"name": "policies", "alias": "policies", "version": 1}
    assert top["refused"] is False and len(top["answer_id"]) == 32


def test_a_pinned_version_as_model(chat: openai.OpenAI) -> None:
    reply = chat.chat.completions.create(model="policies@1", messages=[{"role": "user", "content": QUESTION}])
    assert (reply.model_extra or {})["index"] == {"name": "policies", "alias": None, "version": 1}


def test_streamed_completion_joins_to_the_plain_text(chat: openai.OpenAI) -> None:
    plain = chat.chat.completions.create(model="policies", messages=[{"role": "user", "content": QUESTION}])
    pieces: list[str] = []
    citations: list[dict[str, object]] = []
    finish = None
    last_extra: dict[str, object] = {}
    stream = chat.chat.completions.create(
        model="policies", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        choice = chunk.choices[0]
        pieces.append(choice.delta.content or "")
        citations += (choice.delta.model_extra or {}).get("citations", [])
        finish = choice.finish_reason or finish
        last_extra = chunk.model_extra or {}
    assert len([p for p in pieces if p]) >= 2
    assert "".join(pieces) == plain.choices[0].message.content
    assert citations == (plain.choices[0].message.model_extra or {})["citations"]
    assert finish == "stop" and last_extra["refused"] is False


def test_list_parts_content_and_refusal(chat: openai.OpenAI) -> None:
    reply = chat.chat.completions.create(
        model="policies",
        messages=[{"role": "user", "content": [{"type": "text", "text": "What is the capital of Mongolia?"}]}],
    )
    assert reply.choices[0].message.content == "The policies do not cover this."
    assert (reply.choices[0].message.model_extra or {})["citations"] == []
    assert (reply.model_extra or {})["refused"] is True


def test_unknown_model_and_missing_user_message_are_client_errors(chat: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        chat.chat.completions.create(model="handbook", messages=[{"role": "user", "content": QUESTION}])
    assert missing.value.body["code"] == "index_not_found"  # type: ignore[index]
    with pytest.raises(openai.UnprocessableEntityError):
        chat.chat.completions.create(model="policies", messages=[{"role": "system", "content": "no question"}])


def test_models_lists_aliases_and_versions(chat: openai.OpenAI) -> None:
    ids = [m.id for m in chat.models.list()]
    assert ids == ["policies", "policies@1"]
