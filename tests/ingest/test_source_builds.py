"""Build jobs over bound sources: the manifest records the source revision, deletions propagate, bad documents
are reported by name, an unreachable source fails the job and leaves the alias alone, schedules build only on change."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from git import Repo

from ingest.sources.specs import FolderSpec, GitSpec, S3Spec
from rag.wiring import Services
from tests.conftest import GOLDEN_DIR, SAMPLE_DIR, ServicesFactory
from tests.ingest.test_sources_git import BOB, commit
from tests.support.s3_server import ACCESS_KEY, SECRET_KEY, S3TestServer

DOCS = ("people/annual-leave.md", "people/remote-work.md", "it/equipment.md")


def _run(services: Services, job_id: str) -> dict[str, object]:
    """Run a queued job in this thread, as a worker would; returns its final record."""
    assert services.jobs is not None
    services.jobs.runner(job_id)
    job = services.jobs.store.get(job_id)
    assert job is not None
    return job.model_dump()


@pytest.fixture()
def handbook(tmp_path: Path) -> Repo:
    repo = Repo.init(tmp_path / "repo", initial_branch="main")
    commit(repo, {f"handbook/{d}": (SAMPLE_DIR / d).read_text() for d in DOCS} | {"ci.yml": "x: 1\n"}, "import")
    return repo


def test_git_bound_index_builds_records_the_commit_and_propagates_deletions(
    services_factory: ServicesFactory, handbook: Repo
) -> None:
    s = services_factory(worker_enabled=False)
    assert s.jobs is not None
    s.sources.bind("policies", GitSpec(kind="git", url=str(handbook.working_tree_dir), path="handbook"))
    job, new = s.jobs.trigger.request("policies", "always", "schedule")
    assert new and job.trigger == "schedule"
    first = _run(s, job.job_id)
    assert first["state"] == "succeeded", first["error"]
    v1 = s.catalog.get_version("policies", 1)
    assert v1 is not None and v1.manifest is not None
    head = handbook.head.commit.hexsha
    assert v1.manifest.source_revision == head and first["result"]["source_revision"] == head  # type: ignore[index]
    assert v1.manifest.source == f"git {handbook.working_tree_dir}@main:handbook"
    assert sorted(d.source for d in v1.manifest.documents) == sorted(DOCS)
    assert all(d.metadata["revision"]["commit"] == head for d in v1.manifest.documents)
    assert not s.sources.check("policies").changed  # nothing new: a check builds nothing

    # delete one document, edit another, add one that cannot be read
    leave = (SAMPLE_DIR / "people/annual-leave.md").read_text()
    edited = commit(
        handbook,
        {
            "handbook/it/equipment.md": None,
            "handbook/people/annual-leave.md": leave + "\n## Sabbatical\n\nAfter seven years, a sabbatical.\n",
            "handbook/people/broken.md": b"# Broken\n\xff\xfe not UTF-8\n",
        },
        "edit",
        BOB,
    )
    check = s.sources.check("policies")
    assert check.changed and check.revision == edited and check.built_revision == head
    job, _ = s.jobs.trigger.request("policies", "always", "webhook:github push " + edited[:12])
    second = _run(s, job.job_id)
    assert second["state"] == "succeeded", second["error"]
    v2 = s.catalog.get_version("policies", 2)
    assert v2 is not None and v2.manifest is not None
    assert sorted(d.source for d in v2.manifest.documents) == ["people/annual-leave.md", "people/remote-work.md"]
    assert [e.source for e in v2.manifest.errors] == ["people/broken.md"]  # reported by name, the rest built
    by_source = {d.source: d for d in v2.manifest.documents}
    assert by_source["people/annual-leave.md"].metadata["revision"] == {
        "commit": edited,
        "author": "Bob Builder",
        "date": handbook.head.commit.authored_datetime.isoformat(),
    }
    assert by_source["people/remote-work.md"].metadata["revision"]["commit"] == head
    assert 0 < v2.manifest.chunks_embedded < v2.manifest.chunk_count  # unchanged chunks reuse their vectors
    assert s.engine.count("policies", 2) == v2.manifest.chunk_count
    assert s.registry.live_version("policies") == 2
    assert s.jobs.store.get(job.job_id).trigger.startswith("webhook:github")  # type: ignore[union-attr]


def test_an_unreachable_source_fails_the_job_and_leaves_the_alias(
    services_factory: ServicesFactory, tmp_path: Path
) -> None:
    s = services_factory(worker_enabled=False)
    assert s.jobs is not None
    folder = tmp_path / "folder"
    shutil.copytree(SAMPLE_DIR / "it", folder)
    s.sources.bind("policies", FolderSpec(folder=str(folder)))
    job, _ = s.jobs.trigger.request("policies", "always", "schedule")
    assert _run(s, job.job_id)["state"] == "succeeded"
    assert s.registry.live_version("policies") == 1
    s.sources.bind("policies", GitSpec(kind="git", url="file:///nonexistent/handbook.git"))
    job, _ = s.jobs.trigger.request("policies", "always", "schedule")
    failed = _run(s, job.job_id)
    assert failed["state"] == "failed"
    assert "source_error" in str(failed["error"]) and "git fetch failed" in str(failed["error"])
    assert s.registry.live_version("policies") == 1
    assert [v.version for v in s.catalog.list_versions("policies")] == [1]  # no version allocated
    assert s.documents.get_source("policies") is None  # a git binding replaces the folder


def test_the_schedule_checks_when_due_and_builds_only_on_change(
    services_factory: ServicesFactory, handbook: Repo
) -> None:
    s = services_factory(worker_enabled=False)
    assert s.jobs is not None
    scheduler = s.jobs.scheduler
    s.sources.bind("policies", GitSpec(kind="git", url=str(handbook.working_tree_dir), path="handbook", every="15m"))
    now = datetime.now(UTC)
    assert scheduler.run_due(now) == ["policies"]  # never built: a change
    queued = s.jobs.store.queued_for("policies")
    assert len(queued) == 1 and queued[0].trigger == "schedule" and queued[0].promote == "if_gate_passes"
    assert scheduler.run_due(now + timedelta(minutes=1)) == []  # not due again yet
    assert _run(s, queued[0].job_id)["state"] == "succeeded"
    binding = s.sources.bindings.get("policies")
    assert binding is not None and binding.next_check_at == now + timedelta(minutes=15)
    assert scheduler.run_due(now + timedelta(minutes=16)) == []  # due, but nothing changed: no build
    assert s.jobs.store.queued_for("policies") == []
    binding = s.sources.bindings.get("policies")
    assert binding is not None and binding.last_check_at == now + timedelta(minutes=16)
    assert binding.last_change_at == now and binding.last_error is None
    commit(handbook, {"handbook/people/new.md": "# New\n\nA new policy on bicycles.\n"}, "new")
    assert scheduler.run_due(now + timedelta(minutes=32)) == ["policies"]
    # a broken binding records its error and keeps its schedule
    s.sources.bind("policies", GitSpec(kind="git", url=str(handbook.working_tree_dir), branch="gone", every="1h"))
    assert scheduler.run_due(now + timedelta(days=1)) == []
    binding = s.sources.bindings.get("policies")
    assert binding is not None and "branch 'gone' does not exist" in str(binding.last_error)


def test_s3_bound_index_uses_named_credentials_and_drops_deleted_objects(
    services_factory: ServicesFactory, tmp_path: Path
) -> None:
    with S3TestServer() as s3:
        client = s3.client()
        client.create_bucket(Bucket="hr-policies")
        for d in DOCS:
            client.put_object(Bucket="hr-policies", Key=f"handbook/{d}", Body=(SAMPLE_DIR / d).read_bytes())
        s = services_factory(worker_enabled=False, source_secrets={"bucket": f"{ACCESS_KEY}:{SECRET_KEY}"})
        assert s.jobs is not None
        spec = S3Spec(
            kind="s3", bucket="hr-policies", prefix="handbook/", endpoint_url=s3.endpoint, credentials_secret="bucket"
        )
        s.sources.bind("policies", spec)
        job, _ = s.jobs.trigger.request("policies", "always", "schedule")
        assert _run(s, job.job_id)["state"] == "succeeded"
        v1 = s.catalog.get_version("policies", 1)
        assert v1 is not None and v1.manifest is not None
        assert sorted(d.source for d in v1.manifest.documents) == sorted(DOCS)
        etag = client.head_object(Bucket="hr-policies", Key="handbook/it/equipment.md")["ETag"].strip('"')
        equipment = next(d for d in v1.manifest.documents if d.source == "it/equipment.md")
        assert equipment.metadata["revision"]["etag"] == etag
        assert v1.manifest.source_revision == s.sources.check("policies").built_revision
        assert not s.sources.check("policies").changed

        client.delete_object(Bucket="hr-policies", Key="handbook/it/equipment.md")
        assert s.sources.check("policies").changed
        reads = s3.object_reads
        job, _ = s.jobs.trigger.request("policies", "always", "schedule")
        assert _run(s, job.job_id)["state"] == "succeeded"
        assert s3.object_reads == reads  # the other objects' copies were kept: nothing downloaded again
        v2 = s.catalog.get_version("policies", 2)
        assert v2 is not None and v2.manifest is not None
        assert "it/equipment.md" not in {d.source for d in v2.manifest.documents}
        assert v2.manifest.chunks_embedded == 0 and s.registry.live_version("policies") == 2


def test_a_canary_binding_makes_a_gated_push_the_canary_and_keeps_the_live_version(
    services_factory: ServicesFactory, handbook: Repo, tmp_path: Path
) -> None:
    questions = [json.loads(line) for line in (GOLDEN_DIR / "golden.jsonl").read_text().splitlines() if line.strip()]
    golden = tmp_path / "golden.jsonl"
    picked = [q for q in questions if q["doc_ids"][0] in DOCS][:4]  # a small gate keeps the test quick
    golden.write_text("".join(json.dumps(q) + "\n" for q in picked))
    s = services_factory(worker_enabled=False, golden_set=golden, gate_tolerance=0.02)
    assert s.jobs is not None
    url = str(handbook.working_tree_dir)
    s.sources.bind("policies", GitSpec(kind="git", url=url, path="handbook", promote="canary", canary_share=0.25))
    job, _ = s.jobs.trigger.request("policies", "canary", "schedule")
    first = _run(s, job.job_id)
    assert first["state"] == "succeeded" and first["result"]["promoted"] is True, first  # type: ignore[index]
    assert "no version was live" in first["result"]["promotion"]  # type: ignore[index]
    assert s.registry.live_version("policies") == 1 and s.registry.canary("policies") is None

    leave = (SAMPLE_DIR / "people/annual-leave.md").read_text()
    commit(handbook, {"handbook/people/annual-leave.md": leave + "\n## Sabbatical\n\nAfter seven years.\n"}, "edit")
    job, _ = s.jobs.trigger.request("policies", "canary", "webhook:github push abc")
    second = _run(s, job.job_id)
    result = second["result"]
    assert second["state"] == "succeeded" and result["promoted"] is False, second  # type: ignore[index]
    assert result["gate"]["passed"] is True and result["promotion"].startswith("canary v2 answers 0.25")  # type: ignore[index]
    canary = s.registry.canary("policies")
    assert canary is not None and (canary.version, canary.share) == (2, 0.25)
    assert s.registry.live_version("policies") == 1

    # a push the gate fails (the documents the golden questions ask about are gone) starts no canary
    commit(handbook, {f"handbook/{d}": None for d in DOCS[:2]}, "remove")
    job, _ = s.jobs.trigger.request("policies", "canary", "webhook:github push def")
    third = _run(s, job.job_id)
    assert third["state"] == "succeeded" and "gate failed" in third["result"]["promotion"], third  # type: ignore[index]
    assert s.registry.canary("policies") == canary and s.registry.live_version("policies") == 1
