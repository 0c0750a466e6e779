"""Fixtures for the rag tests: a real OpenAI-protocol server on loopback and clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from tests.support.openai_server import FAKE_API_KEY, OpenAITestServer


@pytest.fixture(scope="module")
def _openai_server_process() -> Iterator[OpenAITestServer]:
    with OpenAITestServer() as server:
        yield server


@pytest.fixture
def openai_server(_openai_server_process: OpenAITestServer) -> OpenAITestServer:
    """The module's test server, reset to its default reply with no recorded requests."""
    _openai_server_process.reset()
    return _openai_server_process


@pytest.fixture
def openai_client(openai_server: OpenAITestServer) -> Iterator[openai.OpenAI]:
    """A real ``openai.OpenAI`` client for the test server: no retries, a 5 s timeout."""
    with openai.OpenAI(api_key=FAKE_API_KEY, base_url=openai_server.base_url, max_retries=0, timeout=5.0) as client:
        yield client
