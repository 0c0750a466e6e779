"""Sources (issue 15): the no-change check on the handbooks, and a webhook push to a new live version.

Part 1, on ../shared/data/handbooks (copied to bench/.work): how long "has anything changed since
revision R" takes when nothing changed, for the folder source (hashes every file), the Git source on
a local repository (one ``git rev-parse``) and through a mirror of a remote (one ``git ls-remote``),
and how many listing calls the S3 source makes (the handbooks put in a moto S3 server on loopback).
Target: <= 1 s for folder and Git; one listing call for S3.

Part 2: the sample handbook in a Git repository bound to ``policies`` (built and live as v1, gate on
the sample golden set), a commit editing 3 files, a signed GitHub push to ``POST /v1/hooks/git`` of
the app with its in-process worker, and the time until the alias names the new version. Target <= 60 s.

Run: ``python bench/source_checks.py [--repeats 5]`` (about two minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SHARED_DATA, write_result
from ingest.sources.folder import FolderSource
from ingest.sources.git import GitSource
from ingest.sources.s3 import S3Source

WORK = ROOT / "bench" / ".work" / "sources"
SAMPLE = ROOT / "ingest" / "sample_handbook"
GOLDEN = ROOT / "ingest" / "sample_handbook_golden" / "golden.jsonl"
SECRET = "bench-webhook-secret"
GIT_ENV = ["-c", "user.name=Bench", "-c", "user.email=bench@example.org"]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *GIT_ENV, *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def _repo_of(folder: Path, target: Path) -> Path:
    shutil.copytree(folder, target)
    _git(target, "init", "-q", "-b", "main")
    _git(target, "add", "-A")
    _git(target, "commit", "-q", "-m", "import")
    return target


def _median_s(check: Any, repeats: int) -> tuple[float, bool]:
    times, changed = [], False
    for _ in range(repeats):
        start = time.perf_counter()
        changed = changed or check()
        times.append(time.perf_counter() - start)
    return statistics.median(times), changed


def no_change_checks(repeats: int) -> dict[str, Any]:
    handbooks = WORK / "handbooks"
    shutil.copytree(SHARED_DATA / "handbooks", handbooks)
    folder = FolderSource(handbooks)
    documents = len(folder.snapshot().documents)
    seen = folder.revision()
    folder_s, folder_changed = _median_s(lambda: folder.changed_since(seen), repeats)

    repo = _repo_of(handbooks, WORK / "handbooks-git")
    local = GitSource(str(repo), "main", mirrors=WORK / "mirrors")
    assert len(local.snapshot().documents) == documents
    head = local.revision()
    git_s, git_changed = _median_s(lambda: local.changed_since(head), repeats)
    bare = WORK / "handbooks.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    remote = GitSource(bare.as_uri(), "main", "18f/pages", mirrors=WORK / "mirrors")
    remote.snapshot()  # the first fetch fills the mirror
    remote_s, remote_changed = _median_s(lambda: remote.changed_since(head), repeats)

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        s3 = S3Source("handbooks", endpoint_url=f"http://{host}:{port}", access_key="bench", secret_key="bench")
        client = s3._client
        client.create_bucket(Bucket="handbooks")
        for doc in folder.snapshot().documents:
            client.put_object(Bucket="handbooks", Key=doc.name, Body=(handbooks / doc.name).read_bytes())
        calls: list[str] = []
        client.meta.events.register("before-call.s3.ListObjectsV2", lambda **kw: calls.append("list"))
        s3_seen = s3.revision()
        calls.clear()
        s3_s, s3_changed = _median_s(lambda: s3.changed_since(s3_seen), repeats)
        s3_calls = len(calls) / repeats
    finally:
        server.stop()
    assert not (folder_changed or git_changed or remote_changed or s3_changed), "a no-change check saw a change"
    return {
        "documents": documents,
        "folder_check_s": round(folder_s, 3),
        "git_local_check_s": round(git_s, 3),
        "git_remote_check_s": round(remote_s, 3),
        "s3_check_s": round(s3_s, 3),
        "s3_listing_calls_per_check": s3_calls,
    }


def webhook_to_live() -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from rag.settings import Settings

    work = _repo_of(SAMPLE, WORK / "sample-git")
    remote = WORK / "sample.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(remote)], check=True)
    url = remote.as_uri()  # the URL the binding fetches from and the push names
    settings = Settings(
        _env_file=None,
        data_dir=WORK / "data",
        auth_enabled=False,
        rate_limit=None,
        golden_set=GOLDEN,
        webhook_secret=SECRET,
    )
    with TestClient(create_app(settings)) as client:
        assert client.put("/v1/indexes/policies/source", json={"kind": "git", "url": url}).status_code == 200
        first = client.post("/v1/indexes/policies/builds", json={"promote": "always"}).json()["job_id"]
        _wait(client, first)
        edits = ["people/annual-leave.md", "people/remote-work.md", "it/equipment.md"]
        for name in edits:
            path = work / name
            path.write_text(path.read_text() + "\n\nThis policy was reviewed in the annual policy review.\n")
        _git(work, "commit", "-q", "-am", "review three policies")
        _git(work, "push", "-q", str(remote), "main")
        after = _git(work, "rev-parse", "HEAD").strip()
        body = json.dumps(
            {"ref": "refs/heads/main", "after": after, "repository": {"clone_url": url, "html_url": url}}
        ).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        start = time.perf_counter()
        hook = client.post(
            "/v1/hooks/git",
            content=body,
            headers={"X-Hub-Signature-256": signature, "X-GitHub-Event": "push", "Content-Type": "application/json"},
        )
        assert hook.status_code == 202 and hook.json()["jobs"], hook.text
        job = _wait(client, hook.json()["jobs"][0])
        live = client.get("/v1/indexes").json()
        elapsed = time.perf_counter() - start
    live_version = next(i["live_version"] for i in live if i["name"] == "policies")
    return {
        "files_edited": len(edits),
        "push_to_live_s": round(elapsed, 1),
        "job_timings_ms": job["result"]["timings_ms"],
        "promotion": job["result"]["promotion"],
        "chunks_embedded": job["result"]["chunks_embedded"],
        "chunks_reused": job["result"]["chunks_reused"],
        "live_version": live_version,
        "trigger": job["trigger"],
    }


def _wait(client: Any, job_id: str, timeout: float = 600.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            if job["state"] != "succeeded":
                raise SystemExit(f"job {job_id} {job['state']}: {job['error']}")
            return job
        time.sleep(0.2)
    raise SystemExit(f"job {job_id} did not finish")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5, help="Checks timed per source (the median is reported).")
    parser.add_argument("--part", choices=("all", "checks", "webhook"), default="all", help="What to measure.")
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    try:
        result: dict[str, Any] = {"load_average_1m_before": round(os.getloadavg()[0], 2)}
        if args.part in ("all", "checks"):
            result.update(no_change_checks(args.repeats))
        if args.part in ("all", "webhook"):
            result.update(webhook_to_live())
        result["load_average_1m_after"] = round(os.getloadavg()[0], 2)
        write_result("source_checks" if args.part == "all" else f"source_checks_{args.part}", result)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
