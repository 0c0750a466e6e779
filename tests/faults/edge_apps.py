"""Apps for the API-edge fault tests: clients that return server errors as responses (never raise
them), an index with access groups, and an app whose metadata lives on PostgreSQL.

Fixtures here are imported by the ``test_api_*`` modules of this folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.embedding import Embedder
from rag.wiring import build_services
from tests.api.conftest import create_key_headers, services_of
from tests.conftest import make_settings

__all__ = ["BOTH_DOC", "HR_DOC", "OPEN_DOC", "EdgeClients", "acl_edge", "edge_clients", "pg_edge", "start_app"]

HR_DOC = "---\naccess_groups: [hr]\n---\n# Salary review\n\nThe quillfeather bonus pool is 4 percent of payroll.\n"
BOTH_DOC = (
    "---\naccess_groups: [hr, legal]\n---\n# Severance\n\nThe marrowgate severance formula is two weeks a year.\n"
)
OPEN_DOC = "# Canteen\n\nThe canteen serves lunch from noon until two in the afternoon.\n"

EdgeClients = Callable[..., TestClient]


def start_app(data_dir: Path, embedder: Embedder, opened: list[TestClient], **overrides: Any) -> TestClient:
    """An app over ``data_dir`` (lifespan started) whose 500s come back as responses; an admin key sent."""
    settings = make_settings(data_dir, **overrides)
    app = create_app(settings, services_factory=lambda s: build_services(s, embedder=embedder))
    client = TestClient(app, raise_server_exceptions=False)
    client.__enter__()
    opened.append(client)
    client.headers.update(create_key_headers(client, "admin", name="edge-admin"))
    return client


@pytest.fixture()
def edge_clients(sample_copy: Path, embedder: Embedder) -> Iterator[EdgeClients]:
    """Starts apps over the sample copy (``policies`` v1 live) with extra settings; stops them after."""
    opened: list[TestClient] = []
    yield lambda **overrides: start_app(sample_copy, embedder, opened, **overrides)
    for c in opened:
        c.__exit__(None, None, None)


@pytest.fixture()
def acl_edge(edge_clients: EdgeClients, tmp_path: Path) -> TestClient:
    """An app with index ``acl``: open.md (everyone), pay.md (hr), both.md (hr and legal), built and live."""
    client = edge_clients()
    src = tmp_path / "acl-src"
    src.mkdir()
    (src / "open.md").write_text(OPEN_DOC)
    (src / "pay.md").write_text(HR_DOC)
    (src / "both.md").write_text(BOTH_DOC)
    services = services_of(client)
    services.documents.set_source("acl", src)
    services.builder.build("acl", src, promote=True)
    return client


@pytest.fixture()
def pg_edge(pg_url: str, tmp_path: Path, embedder: Embedder) -> Iterator[TestClient]:
    """An app whose metadata (catalog, answers, audit, keys) is on PostgreSQL, with ``policies`` live."""
    src = tmp_path / "pg-src"
    src.mkdir()
    (src / "open.md").write_text(OPEN_DOC)
    (src / "leave.md").write_text("# Annual leave\n\nEvery employee gets 27 days of paid leave a year.\n")
    opened: list[TestClient] = []
    client = start_app(
        tmp_path / "pg-data", embedder, opened, database_url=pg_url, worker_enabled=False, rate_limit=None
    )
    services_of(client).builder.build("policies", src, promote=True)
    yield client
    for c in opened:
        c.__exit__(None, None, None)
