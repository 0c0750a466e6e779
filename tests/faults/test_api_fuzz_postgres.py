"""schemathesis against the app with its metadata on PostgreSQL (issue 10, item 9): the same run as
``tests/api/test_openapi_fuzz.py`` (no 5xx, responses as the spec says), where PostgreSQL refuses
what SQLite stores (NUL characters, numbers beyond ``integer``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa

from api.app import create_app
from ingest.embedding import Embedder
from rag.access.keys import KeyStore
from rag.wiring import build_services
from tests.api import test_openapi_fuzz as fuzz
from tests.conftest import make_settings
from tests.faults.edge_apps import OPEN_DOC
from tests.indexes import test_catalog_postgres

pg_url = test_catalog_postgres.pg_url  # fixture


@pytest.fixture()
def fuzzed_on_postgres(pg_url: str, tmp_path: Path, embedder: Embedder) -> Iterator[tuple[Any, dict[str, str]]]:
    """The schema of an app on PostgreSQL with ``policies`` v1 live, and an admin key's headers."""
    settings = make_settings(tmp_path / "data", database_url=pg_url, worker_enabled=False, rate_limit=None)
    src = tmp_path / "src"
    src.mkdir()
    (src / "canteen.md").write_text(OPEN_DOC)
    (src / "leave.md").write_text("# Annual leave\n\nEvery employee gets 27 days of paid leave a year.\n")
    services = build_services(settings, embedder=embedder)
    try:
        services.builder.build("policies", src, promote=True)
    finally:
        services.close()
    db = sa.create_engine(settings.metadata_url)
    headers = {"Authorization": f"Bearer {KeyStore(db).create('fuzz admin', 'admin').secret}"}
    db.dispose()
    app = create_app(settings, services_factory=lambda s: build_services(s, embedder=embedder))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # As in the SQLite run: a random existing folder as the source would make listings walk it.
    yield schema.exclude(method="PUT", path_regex=r"/source$"), headers
    from schemathesis.python.asgi import shutdown_lifespans

    shutdown_lifespans()


def test_api_conforms_to_its_spec_on_postgres(fuzzed_on_postgres: tuple[Any, dict[str, str]]) -> None:
    # The shared run asserts: at least 24 operations walked, no failure (5xx or a response outside the
    # spec), and both successes and refusals of bad input observed.
    fuzz.test_api_conforms_to_its_spec(fuzzed_on_postgres)
