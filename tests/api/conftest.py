"""An API client that goes through the app's real lifespan, on a private copy of the built sample."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.embedding import Embedder
from rag.wiring import build_services
from tests.conftest import make_settings

ClientFactory = Callable[..., TestClient]


@pytest.fixture()
def client_factory(sample_copy: Path, embedder: Embedder) -> Iterator[ClientFactory]:
    """Starts an app (lifespan included) over the sample copy with extra settings; stops it after."""
    clients: list[TestClient] = []

    def factory(**overrides: Any) -> TestClient:
        settings = make_settings(sample_copy, **overrides)
        app = create_app(settings, services_factory=lambda s: build_services(s, embedder=embedder))
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture()
def client(client_factory: ClientFactory) -> TestClient:
    return client_factory()
