"""An S3-compatible bucket as a ``Source`` (boto3): the objects under a prefix, ETags as revisions.

The listing is paginated (1,000 keys per call); a failure on any page fails the whole listing, so a
build never sees part of a bucket. The source's revision is a hash of every (key, ETag), which one
listing call answers for up to 1,000 documents.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.sources.base import Snapshot, SourceDocument, combined_revision
from rag.errors import SourceError

__all__ = ["S3Source"]


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


class S3Source:
    """Objects of ``bucket`` under ``prefix`` (``policies/``); keys relative to it name the documents.

    ``access_key``/``secret_key`` unset: boto3's own chain (environment, instance role). Calls are
    bounded by ``timeout_s`` and retried by botocore (standard mode, 3 attempts); a listing asks for
    ``page_size`` keys per call (S3's maximum, 1,000, by default).
    """

    kind = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        timeout_s: float = 30.0,
        page_size: int = 1000,
    ) -> None:
        self.bucket = bucket
        prefix = prefix.lstrip("/")
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.endpoint_url = endpoint_url
        self.page_size = page_size
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region or "us-east-1",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(
                connect_timeout=timeout_s,
                read_timeout=timeout_s,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )

    @property
    def label(self) -> str:
        """``s3://bucket/prefix`` (plus the endpoint when it is not AWS's)."""
        at = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{at}"

    def _objects(self) -> list[dict[str, Any]]:
        objects: list[dict[str, Any]] = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix, PaginationConfig={"PageSize": self.page_size}
            )
            for page in pages:
                objects.extend(page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            got = f" after {len(objects)} objects" if objects else ""
            raise SourceError(f"listing {self.label} failed{got}: {_reason(exc)}") from exc
        return objects

    def snapshot(self) -> Snapshot:
        """Every supported object under the prefix, with its ETag, size and last-modified time."""
        docs: list[SourceDocument] = []
        skipped: list[str] = []
        for obj in self._objects():
            key = str(obj["Key"])
            name = key[len(self.prefix) :].lstrip("/")
            if not name or key.endswith("/"):
                continue  # the prefix itself, or a folder marker
            if any(part.startswith(".") for part in PurePosixPath(name).parts):
                continue
            if PurePosixPath(name).suffix.lower() not in SUPPORTED_SUFFIXES:
                skipped.append(name)
                continue
            etag = str(obj.get("ETag", "")).strip('"')
            modified = obj.get("LastModified")
            docs.append(
                SourceDocument(
                    name=name,
                    revision=etag,
                    fingerprint=etag,
                    size=int(obj.get("Size", 0)),
                    metadata={
                        "revision": {
                            "etag": etag,
                            "last_modified": modified.isoformat() if modified is not None else None,
                        }
                    },
                )
            )
        if not docs:
            kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
            raise SourceError(f"{self.label} holds no supported documents ({kinds})")
        docs.sort(key=lambda d: d.name)
        return Snapshot(combined_revision((d.name, d.revision) for d in docs), docs, sorted(skipped))

    def revision(self) -> str:
        """A hash of every (key, ETag) under the prefix: one listing call per 1,000 objects."""
        return self.snapshot().revision

    def changed_since(self, revision: str | None) -> bool:
        """Whether any object was added, removed or rewritten since ``revision``."""
        return revision is None or self.revision() != revision

    def read(self, doc: SourceDocument) -> bytes:
        """The object's bytes; ``SourceError`` when it is gone or unreadable."""
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=self.prefix + doc.name)["Body"]
            data: bytes = body.read()
        except (ClientError, BotoCoreError) as exc:
            raise SourceError(f"cannot read {doc.name} from {self.label}: {_reason(exc)}") from exc
        return data

    def local_path(self, doc: SourceDocument) -> Path | None:
        """None: objects are downloaded and kept by ETag."""
        return None
