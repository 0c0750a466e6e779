"""The S3 source against a real S3-protocol server (moto's server app) on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.source_sync.staging import stage
from ingest.sources.s3 import S3Source
from rag.errors import SourceError
from tests.support.s3_server import ACCESS_KEY, SECRET_KEY, S3TestServer

BUCKET = "policies-bucket"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3TestServer]:
    with S3TestServer() as server:
        yield server


@pytest.fixture()
def bucket(s3: S3TestServer, request: pytest.FixtureRequest) -> str:
    name = f"b-{request.node.name.replace('_', '-')[:50]}".lower()
    client = s3.client()
    client.create_bucket(Bucket=name)
    for key, body in {
        "handbook/people/leave.md": b"# Leave\n\nEmployees get 25 days of annual leave.\n",
        "handbook/travel.md": b"# Travel\n\nBook economy class.\n",
        "handbook/images/logo.png": b"\x89PNG",
        "handbook/": b"",
        "other/not-mine.md": b"# Elsewhere\n",
    }.items():
        client.put_object(Bucket=name, Key=key, Body=body)
    return name


def source(s3: S3TestServer, bucket: str, **kwargs: object) -> S3Source:
    return S3Source(
        bucket,
        "handbook",
        endpoint_url=s3.endpoint,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        **kwargs,  # type: ignore[arg-type]
    )


def test_listing_gives_etags_and_sizes_under_the_prefix(s3: S3TestServer, bucket: str) -> None:
    snap = source(s3, bucket).snapshot()
    assert [d.name for d in snap.documents] == ["people/leave.md", "travel.md"]
    assert snap.skipped == ["images/logo.png"]
    leave = snap.documents[0]
    head = s3.client().head_object(Bucket=bucket, Key="handbook/people/leave.md")
    assert leave.revision == head["ETag"].strip('"') == leave.metadata["revision"]["etag"]
    assert leave.size == len(b"# Leave\n\nEmployees get 25 days of annual leave.\n")
    assert source(s3, bucket).read(leave).startswith(b"# Leave")


def test_revision_moves_on_edit_and_delete_only(s3: S3TestServer, bucket: str) -> None:
    src = source(s3, bucket)
    seen = src.revision()
    assert not src.changed_since(seen)
    s3.client().put_object(Bucket=bucket, Key="other/unrelated.md", Body=b"# Not under the prefix\n")
    assert not src.changed_since(seen)
    s3.client().put_object(Bucket=bucket, Key="handbook/travel.md", Body=b"# Travel\n\nBook any class.\n")
    edited = src.revision()
    assert edited != seen
    s3.client().delete_object(Bucket=bucket, Key="handbook/travel.md")
    assert src.revision() not in (seen, edited)
    assert [d.name for d in src.snapshot().documents] == ["people/leave.md"]


def test_staging_downloads_each_version_once(s3: S3TestServer, bucket: str, tmp_path: Path) -> None:
    src = source(s3, bucket)
    before = s3.object_reads
    files = stage(src, src.snapshot(), tmp_path / "stage", max_bytes=1_000_000)
    assert [f.name for f in files] == ["people/leave.md", "travel.md"]
    assert all(f.error is None and f.path.read_bytes().startswith(b"# ") for f in files)
    assert s3.object_reads - before == 2
    again = stage(src, src.snapshot(), tmp_path / "stage", max_bytes=1_000_000)
    assert [f.path for f in again] == [f.path for f in files] and s3.object_reads - before == 2  # nothing fetched
    s3.client().put_object(Bucket=bucket, Key="handbook/travel.md", Body=b"# Travel\n\nBook any class.\n")
    third = stage(src, src.snapshot(), tmp_path / "stage", max_bytes=1_000_000)
    assert s3.object_reads - before == 3  # only the edited object
    assert not files[1].path.exists() and third[1].path.read_bytes().endswith(b"any class.\n")  # old copy removed
    small = stage(src, src.snapshot(), tmp_path / "stage", max_bytes=30)
    too_large = next(f for f in small if f.name == "people/leave.md")
    assert too_large.error is not None and "over the limit of 30" in too_large.error


def test_a_listing_cut_short_is_an_error_not_a_smaller_snapshot(s3: S3TestServer, bucket: str) -> None:
    src = source(s3, bucket, page_size=1, timeout_s=5.0)
    assert len(src.snapshot().documents) == 2  # page by page, while the server answers
    s3.fail_later_pages = True
    try:
        with pytest.raises(SourceError, match=r"listing s3://.* failed after 1 objects: SlowDown"):
            src.snapshot()
    finally:
        s3.fail_later_pages = False


def test_missing_buckets_and_unreachable_endpoints_are_clear_errors(s3: S3TestServer, bucket: str) -> None:
    with pytest.raises(SourceError, match="NoSuchBucket"):
        source(s3, "no-such-bucket").snapshot()
    unreachable = S3Source(BUCKET, endpoint_url="http://127.0.0.1:9", access_key="a", secret_key="b", timeout_s=1)
    with pytest.raises(SourceError, match=re.escape("listing s3://policies-bucket/ at http://127.0.0.1:9 failed")):
        unreachable.snapshot()
