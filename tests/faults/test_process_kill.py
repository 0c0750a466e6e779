"""Process-kill tests: ``kill -9`` a real build process during embedding, sealing and promotion, and
a real upload process before its file is in place; then restart (start-up recovery, as ``rag serve``
and ``rag worker`` run it) and check that alias, versions, jobs and storage agree.

Each process pauses at a named point (``indexes.faultpoints``) and is killed there: no timing.
Builds use a small part of the sample handbook.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from indexes.catalog import VersionState
from ingest.embedding import Embedder
from ingest.jobs.recovery import recover
from rag.wiring import Services, build_services
from tests.conftest import SAMPLE_DIR, make_settings
from tests.faults.processes import spawn

WORKER = ["-m", "rag.cli", "worker"]


def _restart(data_dir: Path, embedder: Embedder) -> Services:
    """A new process's services over ``data_dir``, after its start-up recovery."""
    services = build_services(make_settings(data_dir, worker_enabled=False), embedder=embedder)
    assert services.jobs is not None
    recover(services.jobs.store, services.jobs.queue, services.catalog, services.engine, timedelta(hours=1))
    return services


def _shard_versions(data_dir: Path) -> set[int]:
    """The versions that have a shard directory (``shards/<index>/v0001``)."""
    return {int(p.name.lstrip("v")) for p in (data_dir / "shards" / "policies").iterdir()}


def _assert_consistent(services: Services, data_dir: Path, live: int) -> None:
    """Alias, versions and storage agree: the live version is ready and whole, no version is left
    building, and a shard directory exists for exactly the ready versions."""
    catalog, engine = services.catalog, services.engine
    assert services.registry.live_version("policies") == live
    versions = {v.version: v for v in catalog.list_versions("policies")}
    assert all(v.state in (VersionState.READY, VersionState.FAILED) for v in versions.values()), versions
    ready = {n for n, v in versions.items() if v.state == VersionState.READY}
    assert live in ready
    shards = _shard_versions(data_dir)
    assert shards == ready, f"shard directories {sorted(shards)} but ready versions {sorted(ready)}"
    for n in ready:
        manifest = versions[n].manifest
        assert manifest is not None and engine.count("policies", n) == manifest.chunk_count
    answer = services.assistant.ask("How many vacation days do I get?")
    assert answer.index.version == live and answer.citations


@pytest.mark.parametrize("point", ["embed", "seal", "promote"])
def test_kill_9_during_a_build_leaves_alias_versions_jobs_and_storage_in_agreement(
    point: str, sample_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    assert _shard_versions(sample_copy) == {1}
    first = build_services(make_settings(sample_copy, worker_enabled=False), embedder=embedder)
    try:
        assert first.jobs is not None
        job = first.jobs.store.create("policies", "full", "always", str(SAMPLE_DIR / "people"))
        first.jobs.queue.enqueue(job.job_id)
    finally:
        first.close()
    with spawn(WORKER, sample_copy, tmp_path / "logs", f"worker-{point}", pause=point) as worker:
        worker.wait_paused()
        worker.kill9()
    services = _restart(sample_copy, embedder)
    try:
        assert services.jobs is not None
        failed = services.jobs.store.get(job.job_id)
        assert failed is not None and failed.state == "failed", failed
        assert failed.error and "stopped while running this job" in failed.error
        versions = {v.version: v for v in services.catalog.list_versions("policies")}
        assert set(versions) == {1, 2}
        # killed before the version was ready it is failed and gone; killed while promoting it is
        # ready and whole, and the alias still names v1 (the switch never happened)
        assert versions[2].state == (VersionState.READY if point == "promote" else VersionState.FAILED)
        _assert_consistent(services, sample_copy, live=1)
        # the index is not left locked: the next build runs and goes live
        services.builder.build("policies", SAMPLE_DIR / "people", promote=True)
        _assert_consistent(services, sample_copy, live=3)
    finally:
        services.close()


UPLOAD = """
import sys
from pathlib import Path
from rag.settings import Settings
from rag.wiring import build_services

services = build_services(Settings())
data = Path(sys.argv[1]).read_bytes()
services.documents.put("policies", "NW-NEW-001", "new-policy.md", data, owner="people@northwind.example")
print("stored")
"""


def test_kill_9_during_an_upload_leaves_no_row_without_a_file_and_no_partial_file(
    sample_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    doc = tmp_path / "new-policy.md"
    doc.write_text("---\ntitle: New policy\n---\n\n# New policy\n\nEvery desk gets a plant.\n")
    with spawn(["-c", UPLOAD, str(doc)], sample_copy, tmp_path / "logs", "upload", pause="upload") as upload:
        upload.wait_paused()
        partial = list((sample_copy / "uploads").glob("*/.upload-*.part"))
        assert len(partial) == 1  # killed with its bytes in a temporary file, not yet in place
        upload.kill9()
    services = _restart(sample_copy, embedder)
    try:
        assert services.documents.get("policies", "NW-NEW-001") is None  # no row names a missing file
        assert list((sample_copy / "uploads").glob("*/.upload-*.part")) == []  # swept at start-up
        assert all(u.path.is_file() for u in services.documents.uploads("policies"))
        _assert_consistent(services, sample_copy, live=1)
        # uploading again works
        stored, created = services.documents.put(
            "policies", "NW-NEW-001", "new-policy.md", doc.read_bytes(), owner="people@northwind.example"
        )
        assert created and stored.path.is_file()
    finally:
        services.close()
