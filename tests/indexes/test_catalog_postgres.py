"""The catalog and the answer log on a real PostgreSQL server (the multi-host metadata store)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from indexes.catalog import Catalog, VersionState
from indexes.manifest import ChunkerSpec, EmbedderSpec, Manifest, SparseSpec
from rag.answer_log import AnswerLog

ADMIN_URL = os.environ.get("RAG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A fresh database on the test server, dropped afterwards."""
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = f"rag_test_{uuid.uuid4().hex[:12]}"
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL reachable at {ADMIN_URL} (set RAG_TEST_POSTGRES_URL): {exc.orig}")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _manifest(version: int) -> Manifest:
    return Manifest(
        index="policies",
        version=version,
        engine="qdrant",
        source="handbook",
        created_at=datetime.now(UTC),
        embedder=EmbedderSpec(model_id="m", dimension=384, max_seq_length=256),
        sparse=SparseSpec(k=1.2, b=0.75, avg_len=100),
        chunker=ChunkerSpec(max_tokens=254, overlap_tokens=32, embed_headings=True),
        documents=[],
        chunk_count=0,
        chunks_embedded=0,
    )


def test_catalog_on_postgres(pg_url: str) -> None:
    catalog = Catalog.from_url(pg_url)
    try:
        assert [catalog.allocate_version("policies") for _ in range(2)] == [1, 2]
        catalog.mark_ready(_manifest(1))
        catalog.mark_failed("policies", 2, "boom")
        states = {v.version: v.state for v in catalog.list_versions("policies")}
        assert states == {1: VersionState.READY, 2: VersionState.FAILED}
        info = catalog.get_version("policies", 1)
        assert info is not None and info.manifest is not None
        assert info.manifest == _manifest(1).model_copy(update={"created_at": info.manifest.created_at})
        catalog.set_alias("policies", "policies", 1)
        catalog.record_alias_event("policies", "policies", 1, None, "promote")
        assert catalog.get_alias("policies") == ("policies", 1)
        assert [e.version for e in catalog.alias_history("policies")] == [1]
        log = AnswerLog(catalog.engine)
        record = {
            "answer_id": "a1",
            "question": "q",
            "answer": "a",
            "refused": False,
            "index": {"name": "policies", "alias": "policies", "version": 1},
            "prompt": {"name": "answer", "version": "v1"},
            "model": {"provider": "extractive", "name": "extractive-v1"},
        }
        log.save(record)
        assert log.get("a1") == record and log.count() == 1
    finally:
        catalog.close()


def test_lifecycle_state_on_postgres(pg_url: str) -> None:
    """Dropped versions, manifest amendments (compare-and-swap), canary shares and alias deletes."""
    catalog = Catalog.from_url(pg_url)
    try:
        assert [catalog.allocate_version("policies") for _ in range(2)] == [1, 2]
        catalog.mark_ready(_manifest(1))
        assert not catalog.mark_dropped("policies", 2)  # still building: not dropped
        first: list[bool] = []

        def add_error(m: Manifest) -> Manifest:
            if not first:
                first.append(True)  # a concurrent writer lands between this read and this write
                catalog.replace_manifest(m.model_copy(update={"chunk_count": 7}))
            return m.model_copy(update={"source": "amended"})

        amended = catalog.amend_manifest("policies", 1, add_error)
        assert (amended.source, amended.chunk_count) == ("amended", 7)
        stored = catalog.get_version("policies", 1)
        assert stored is not None and stored.manifest == amended

        catalog.set_canary_share("policies", 0.25)
        catalog.set_canary_share("policies", 0.5)
        assert catalog.get_canary_share("policies") == 0.5
        assert catalog.delete_canary_share("policies")
        assert not catalog.delete_canary_share("policies")
        assert catalog.get_canary_share("policies") is None

        catalog.set_alias("policies:canary", "policies", 1)
        catalog.delete_alias("policies:canary")
        catalog.delete_alias("policies:canary")
        assert catalog.get_alias("policies:canary") is None

        assert catalog.mark_dropped("policies", 1)
        assert not catalog.mark_dropped("policies", 1)
        assert catalog.get_version("policies", 1).state == VersionState.DROPPED  # type: ignore[union-attr]
    finally:
        catalog.close()


def test_keys_and_audit_log_on_postgres(pg_url: str) -> None:
    """Keys authenticate and audit entries filter by time the same way on PostgreSQL."""
    from datetime import timedelta

    from rag.access.audit import AuditLog
    from rag.access.keys import KeyStore

    engine = sa.create_engine(pg_url)
    try:
        keys = KeyStore(engine)
        new = keys.create("pg owner", "owner", ["hr"], ["policies"])
        principal = keys.authenticate(new.secret)
        assert principal is not None and principal.indexes == ["policies"]
        keys.revoke(new.key.key_id)
        assert keys.authenticate(new.secret) is None
        audit = AuditLog(engine)
        with audit.action(principal, "promote", index="policies", target="v2") as audited:
            audited.details["previous_version"] = 1
        (entry,) = audit.entries(actor="pg owner", since=datetime.now(UTC) - timedelta(minutes=1))
        assert (entry.action, entry.outcome, entry.details) == ("promote", "ok", {"previous_version": 1})
        assert audit.entries(until=datetime.now(UTC) - timedelta(minutes=1)) == []
    finally:
        engine.dispose()
