"""Tests of OpenAIAnswerer through the real openai client against a real loopback server."""

from __future__ import annotations

import socket
import time

import openai
import pytest

from indexes.types import ChunkRecord, SearchHit
from rag.answering.base import Answerer, Draft, DraftCitation, Evidence, ModelInfo
from rag.answering.markers import find_markers
from rag.answering.openai_answerer import OpenAIAnswerer
from rag.errors import ModelUnavailable
from tests.support.openai_server import FAKE_API_KEY, OpenAITestServer, split_for_streaming

MODEL = "policy-test-model"


def _hit(n: int, text: str) -> SearchHit:
    chunk = ChunkRecord(
        chunk_id=f"c{n}",
        doc_id="handbook",
        title="Handbook",
        heading_path=["Leave"],
        page=None,
        start=0,
        end=len(text),
        text=text,
        token_count=len(text.split()),
        content_hash=f"h{n}",
        source="handbook.md",
    )
    return SearchHit(chunk=chunk, score=1.0 / n, similarity=0.5)


EVIDENCE = Evidence(
    question="How many leave days do I get?",
    hits=[_hit(1, "Employees get 25 days of leave."), _hit(2, "Unused days carry over.")],
)
PROMPT = (
    "Answer from the numbered sources only and cite them as [n].\n\n"
    "[1] Employees get 25 days of leave.\n"
    "[2] Unused days carry over.\n\n"
    "Question: How many leave days do I get?"
)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _assert_safe(message: str, base_url: str) -> None:
    assert FAKE_API_KEY not in message
    assert MODEL in message
    assert base_url.rstrip("/") in message


# -- markers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Leave is 25 days [1].", [1]),
        ("See [1, 2] and [ 3 ,4 ].", [1, 2, 3, 4]),
        ("Adjacent [1][3] markers.", [1, 3]),
        ("Repeated [2] then [1] then [2] and [1, 2].", [2, 1]),
        ("Out of range [0] and [99] are still returned [7].", [0, 99, 7]),
        ("Leading zeros [02] read as numbers.", [2]),
        ("Not markers: [a], [1-3], [see 2], [], [1,], [ ], a[b]c.", []),
        ("", []),
    ],
)
def test_find_markers(text: str, expected: list[int]) -> None:
    assert find_markers(text) == expected


# -- answers ---------------------------------------------------------------------------------


def test_model_info_names_provider_and_model(openai_client: openai.OpenAI) -> None:
    answerer: Answerer = OpenAIAnswerer(openai_client, MODEL)
    assert answerer.model == ModelInfo(provider="openai", name=MODEL)


def test_answer_returns_server_text_and_its_markers(
    openai_server: OpenAITestServer, openai_client: openai.OpenAI
) -> None:
    text = "You get 25 days [1]. Unused days carry over [2][1]; see also [5]."
    openai_server.reply_with(text)

    draft = OpenAIAnswerer(openai_client, MODEL).answer(EVIDENCE, PROMPT)

    assert draft == Draft(text=text, citations=[DraftCitation(1), DraftCitation(2), DraftCitation(5)])


def test_answer_echoing_prompt_markers(openai_server: OpenAITestServer, openai_client: openai.OpenAI) -> None:
    openai_server.echo_markers(2)

    draft = OpenAIAnswerer(openai_client, MODEL).answer(EVIDENCE, PROMPT)

    assert draft.text == "According to the sources [1][2]."
    assert [c.n for c in draft.citations] == [1, 2]


def test_request_carries_model_prompt_and_settings(
    openai_server: OpenAITestServer, openai_client: openai.OpenAI
) -> None:
    OpenAIAnswerer(openai_client, MODEL, temperature=0.2, max_tokens=123).answer(EVIDENCE, PROMPT)

    [request] = openai_server.requests
    assert request.model == MODEL
    assert request.prompt == PROMPT
    assert request.body["messages"] == [{"role": "user", "content": PROMPT}]
    assert request.stream is False
    assert request.body["temperature"] == 0.2
    assert request.body["max_tokens"] == 123
    assert request.headers["authorization"] == f"Bearer {FAKE_API_KEY}"


def test_stream_yields_pieces_that_join_to_the_answer(
    openai_server: OpenAITestServer, openai_client: openai.OpenAI
) -> None:
    text = "You get 25 days of leave [1], and unused days carry over [2]."
    openai_server.reply_with(text)
    answerer = OpenAIAnswerer(openai_client, MODEL)

    pieces = list(answerer.stream(EVIDENCE, PROMPT))

    assert len(pieces) == len(split_for_streaming(text)) > 3
    assert "".join(pieces) == text == answerer.answer(EVIDENCE, PROMPT).text
    streamed, plain = openai_server.requests
    assert streamed.stream is True and plain.stream is False
    assert streamed.model == MODEL and streamed.prompt == PROMPT


def test_stream_closed_early_releases_the_connection(
    openai_server: OpenAITestServer, openai_client: openai.OpenAI
) -> None:
    openai_server.reply_with("one two three four five six")
    stream = OpenAIAnswerer(openai_client, MODEL).stream(EVIDENCE, PROMPT)

    assert next(stream) == "one "
    stream.close()

    # The pooled connection is usable again for the next request.
    assert OpenAIAnswerer(openai_client, MODEL).answer(EVIDENCE, PROMPT).text.startswith("one")


# -- failures --------------------------------------------------------------------------------


def test_unreachable_endpoint_is_model_unavailable_quickly() -> None:
    base_url = f"http://127.0.0.1:{_closed_port()}/v1"
    with openai.OpenAI(api_key=FAKE_API_KEY, base_url=base_url, max_retries=0, timeout=2.0) as client:
        answerer = OpenAIAnswerer(client, MODEL)
        started = time.monotonic()
        with pytest.raises(ModelUnavailable, match="could not be reached") as caught:
            answerer.answer(EVIDENCE, PROMPT)
        assert time.monotonic() - started < 2.0
        with pytest.raises(ModelUnavailable, match="could not be reached"):
            list(answerer.stream(EVIDENCE, PROMPT))

    assert caught.value.code == "model_unavailable"
    _assert_safe(caught.value.message, base_url)


def test_credentials_and_query_are_removed_from_the_message() -> None:
    base_url = f"http://user:{FAKE_API_KEY}@127.0.0.1:{_closed_port()}/v1?api-key={FAKE_API_KEY}"
    with (
        openai.OpenAI(api_key=FAKE_API_KEY, base_url=base_url, max_retries=0, timeout=2.0) as client,
        pytest.raises(ModelUnavailable) as caught,
    ):
        OpenAIAnswerer(client, MODEL).answer(EVIDENCE, PROMPT)

    assert FAKE_API_KEY not in str(caught.value)
    assert "user" not in caught.value.message
    assert "http://127.0.0.1:" in caught.value.message


def test_server_error_is_model_unavailable(openai_server: OpenAITestServer, openai_client: openai.OpenAI) -> None:
    openai_server.fail_with(500)
    answerer = OpenAIAnswerer(openai_client, MODEL)

    with pytest.raises(ModelUnavailable, match="failed with HTTP 500") as caught:
        answerer.answer(EVIDENCE, PROMPT)
    with pytest.raises(ModelUnavailable, match="failed with HTTP 500"):
        list(answerer.stream(EVIDENCE, PROMPT))

    _assert_safe(caught.value.message, openai_server.base_url)


def test_server_error_is_raised_after_the_clients_own_retries(openai_server: OpenAITestServer) -> None:
    openai_server.fail_with(503)
    with (
        openai.OpenAI(api_key=FAKE_API_KEY, base_url=openai_server.base_url, max_retries=2, timeout=5.0) as client,
        pytest.raises(ModelUnavailable, match="HTTP 503 after 2 retries"),
    ):
        OpenAIAnswerer(client, MODEL).answer(EVIDENCE, PROMPT)

    assert len(openai_server.requests) == 3


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "rejected the API key"),
        (403, "refused access"),
        (404, "was not found"),
        (429, "rate limiting"),
        (400, "rejected the request with HTTP 400"),
    ],
)
def test_client_errors_are_model_unavailable_without_the_servers_text(
    openai_server: OpenAITestServer, openai_client: openai.OpenAI, status: int, expected: str
) -> None:
    # Real servers echo (parts of) the key in 401 bodies; none of the server's text is passed on.
    openai_server.fail_with(status, message=f"Incorrect API key provided: {FAKE_API_KEY}")

    with pytest.raises(ModelUnavailable, match=expected) as caught:
        OpenAIAnswerer(openai_client, MODEL).answer(EVIDENCE, PROMPT)

    _assert_safe(caught.value.message, openai_server.base_url)
    assert "Incorrect API key" not in caught.value.message


def test_hanging_server_is_model_unavailable_after_the_client_timeout(
    openai_server: OpenAITestServer,
) -> None:
    openai_server.hang(10.0)
    with openai.OpenAI(api_key=FAKE_API_KEY, base_url=openai_server.base_url, max_retries=0, timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(ModelUnavailable, match="did not answer within the client timeout") as caught:
            OpenAIAnswerer(client, MODEL).answer(EVIDENCE, PROMPT)
        assert time.monotonic() - started < 3.0

    _assert_safe(caught.value.message, openai_server.base_url)


@pytest.mark.parametrize("content", ["", "   \n", None])
def test_empty_reply_is_model_unavailable(
    openai_server: OpenAITestServer, openai_client: openai.OpenAI, content: str | None
) -> None:
    openai_server.reply_with(content)
    answerer = OpenAIAnswerer(openai_client, MODEL)

    with pytest.raises(ModelUnavailable, match="returned no text"):
        answerer.answer(EVIDENCE, PROMPT)
    with pytest.raises(ModelUnavailable, match="returned no text"):
        list(answerer.stream(EVIDENCE, PROMPT))


def test_stream_broken_midway_is_model_unavailable(
    openai_server: OpenAITestServer, openai_client: openai.OpenAI
) -> None:
    openai_server.break_stream_after(2, text="one two three four")
    pieces: list[str] = []

    with pytest.raises(ModelUnavailable, match="invalid or error response") as caught:
        pieces.extend(OpenAIAnswerer(openai_client, MODEL).stream(EVIDENCE, PROMPT))

    assert pieces == ["one ", "two "]
    _assert_safe(caught.value.message, openai_server.base_url)


@pytest.mark.parametrize(("model", "max_tokens"), [("", 400), ("  ", 400), (MODEL, 0)])
def test_constructor_rejects_bad_settings(openai_client: openai.OpenAI, model: str, max_tokens: int) -> None:
    with pytest.raises(ValueError):
        OpenAIAnswerer(openai_client, model, max_tokens=max_tokens)
