"""An API client that goes through the app's real lifespan, on a private copy of the built sample.

Clients send an admin key by default (created through the key store of the sample copy, so auth
stays on as in production); ``key_headers`` makes keys of other roles, groups and indexes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.embedding import Embedder
from rag.wiring import Services, build_services
from tests.conftest import make_settings

ClientFactory = Callable[..., TestClient]
KeyHeaders = Callable[..., dict[str, str]]


def services_of(client: TestClient) -> Services:
    """The services the client's app built in its lifespan."""
    app: Any = client.app
    services: Services = app.state.services
    return services


def create_key_headers(
    client: TestClient,
    role: str = "employee",
    groups: Sequence[str] = (),
    indexes: Sequence[str] = (),
    name: str | None = None,
) -> dict[str, str]:
    """A new key of ``role`` in the client's app, as request headers."""
    new = services_of(client).keys.create(name or f"test-{role}", role, groups, indexes)
    return {"Authorization": f"Bearer {new.secret}"}


@pytest.fixture()
def client_factory(sample_copy: Path, embedder: Embedder) -> Iterator[ClientFactory]:
    """Starts an app (lifespan included) over the sample copy with extra settings; stops it after.

    ``admin_key=False`` gives a client that sends no key.
    """
    clients: list[TestClient] = []

    def factory(*, admin_key: bool = True, **overrides: Any) -> TestClient:
        settings = make_settings(sample_copy, **overrides)
        app = create_app(settings, services_factory=lambda s: build_services(s, embedder=embedder))
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        if admin_key:
            client.headers.update(create_key_headers(client, "admin", name="test-admin"))
        return client

    yield factory
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture()
def client(client_factory: ClientFactory) -> TestClient:
    return client_factory()


@pytest.fixture()
def key_headers(client: TestClient) -> KeyHeaders:
    """Headers of a new key in ``client``'s app: ``key_headers("owner", groups=[...], indexes=[...])``."""

    def make(role: str = "employee", groups: Sequence[str] = (), indexes: Sequence[str] = ()) -> dict[str, str]:
        return create_key_headers(client, role, groups, indexes)

    return make
