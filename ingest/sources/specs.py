"""What an index is bound to: one spec per kind of source, and opening a ``Source`` from a spec.

A spec names its secrets (a Git token, S3 credentials) by name only: the values live in the
settings (``RAG_SOURCE_SECRETS``), so the catalog and every listing hold names, never secrets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, field_validator, model_validator

from indexes.canary import DEFAULT_CANARY_SHARE
from ingest.promotion import PromotePolicy
from ingest.sources.base import Source
from ingest.sources.folder import FolderSource
from rag.errors import SourceError
from rag.text_input import control_characters

__all__ = [
    "AnySpec",
    "ConfluenceSpec",
    "FolderSpec",
    "GitSpec",
    "S3Spec",
    "SourceSpec",
    "open_source",
    "parse_every",
    "spec_adapter",
]

_EVERY = re.compile(r"^(\d{1,6})(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(value: str) -> int:
    """Seconds of a schedule such as ``15m``, ``2h``, ``1d`` or ``90s`` (at least 60 s); ``ValueError`` otherwise."""
    match = _EVERY.match(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a schedule such as '15m', '2h' or '1d'")
    seconds = int(match.group(1)) * _UNIT_S[match.group(2)]
    if seconds < 60:
        raise ValueError(f"{value!r} is shorter than a minute")
    return seconds


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    every: str | None = Field(
        None, description="Check the source for changes this often (e.g. '15m'), and build when it changed."
    )
    promote: PromotePolicy = Field(
        "if_gate_passes",
        description="Promotion policy of builds a schedule, a webhook or folder watching starts: never, "
        "if_gate_passes, always, or canary (a version that passes the gate answers canary_share of the traffic).",
    )
    canary_share: float = Field(
        DEFAULT_CANARY_SHARE,
        gt=0,
        le=1,
        allow_inf_nan=False,
        description="With promote 'canary': the share of unpinned questions the new version answers (0 < share <= 1).",
    )

    @field_validator("every")
    @classmethod
    def _check_every(cls, value: str | None) -> str | None:
        if value is not None:
            parse_every(value)
        return value

    @model_validator(mode="after")
    def _no_control_characters(self) -> _Spec:
        for name, value in self:
            if isinstance(value, str) and (found := control_characters(value)):
                raise ValueError(f"{name}: control characters are not allowed ({', '.join(found)})")
        return self


class FolderSpec(_Spec):
    """A folder on the server (an admin's choice: it is a path on that host)."""

    kind: Literal["folder"] = "folder"
    folder: str = Field(min_length=1, max_length=4096)


class GitSpec(_Spec):
    """A branch of a Git repository: a path on the server, or an https/ssh URL; optionally one sub-folder."""

    kind: Literal["git"]
    url: str = Field(min_length=1, max_length=2048, description="Repository path or URL (https://, ssh://).")
    branch: str = Field("main", min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._/-]+$")
    path: str = Field("", max_length=1024, description="Only documents under this folder of the repository.")
    token_secret: str | None = Field(None, max_length=128, description="Name of the secret holding an https token.")
    username: str = Field("x-access-token", max_length=128, description="User name sent with the token.")

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, value: str) -> str:
        if value.startswith("-") or "::" in value:
            raise ValueError("url must be a path, an https://, ssh:// or file:// URL, or user@host:path")
        head = value.split("://", 1)[1].split("/", 1)[0] if "://" in value else ""
        if ":" in head.split("@", 1)[0] and "@" in head:
            raise ValueError("put no password or token in the URL: name a secret with token_secret")
        return value

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        parts = value.strip("/").split("/")
        if ".." in parts:
            raise ValueError("path must stay inside the repository")
        return value.strip("/")


class S3Spec(_Spec):
    """Objects under a prefix of an S3-compatible bucket."""

    kind: Literal["s3"]
    bucket: str = Field(min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.-]+$")
    prefix: str = Field("", max_length=1024)
    endpoint_url: str | None = Field(
        None, max_length=2048, pattern=r"^https?://[^\s/]+(/\S*)?$", description="S3-compatible endpoint; unset: AWS."
    )
    region: str | None = Field(None, max_length=64, pattern=r"^[a-z0-9-]+$")
    credentials_secret: str | None = Field(
        None, max_length=128, description="Name of the secret holding 'ACCESS_KEY_ID:SECRET_ACCESS_KEY'."
    )


class ConfluenceSpec(_Spec):
    """The current pages of one Confluence space (Cloud REST API v2)."""

    kind: Literal["confluence"]
    base_url: str = Field(
        max_length=2048, pattern=r"^https?://[^\s/]+(/\S*)?$", description="e.g. https://x.atlassian.net"
    )
    space: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_~-]+$", description="The space key.")
    credentials_secret: str | None = Field(
        None,
        max_length=128,
        description="Name of the secret holding 'email:api_token' (Basic) or a token (Bearer).",
    )
    label_groups: dict[str, list[str]] = Field(
        default_factory=dict, description='Access groups of pages by label, e.g. {"hr-only": ["hr"]}.'
    )


AnySpec = FolderSpec | GitSpec | S3Spec | ConfluenceSpec
SourceSpec = Annotated[AnySpec, Field(discriminator="kind")]
spec_adapter: TypeAdapter[AnySpec] = TypeAdapter(SourceSpec)


def _secret(secrets: Mapping[str, SecretStr], name: str | None) -> str | None:
    if name is None:
        return None
    if name not in secrets:
        raise SourceError(f"no secret named {name!r} in the settings (RAG_SOURCE_SECRETS)")
    return secrets[name].get_secret_value()


def open_source(spec: AnySpec, secrets: Mapping[str, SecretStr], work_dir: Path, *, timeout_s: float = 120.0) -> Source:
    """The ``Source`` a spec describes. ``work_dir`` holds Git mirrors; ``SourceError`` for an unknown secret name."""
    if isinstance(spec, FolderSpec):
        return FolderSource(Path(spec.folder))
    if isinstance(spec, GitSpec):
        from ingest.sources.git import GitSource

        return GitSource(
            spec.url,
            spec.branch,
            spec.path,
            mirrors=work_dir / "git",
            token=_secret(secrets, spec.token_secret),
            username=spec.username,
            timeout_s=timeout_s,
        )
    if isinstance(spec, ConfluenceSpec):
        from ingest.sources.confluence import ConfluenceSource

        return ConfluenceSource(
            spec.base_url,
            spec.space,
            credentials=_secret(secrets, spec.credentials_secret),
            label_groups=spec.label_groups,
            timeout_s=min(timeout_s, 60.0),
        )
    from ingest.sources.s3 import S3Source

    credentials = _secret(secrets, spec.credentials_secret)
    access_key = secret_key = None
    if credentials is not None:
        if ":" not in credentials:
            raise SourceError(f"secret {spec.credentials_secret!r} must be 'ACCESS_KEY_ID:SECRET_ACCESS_KEY'")
        access_key, secret_key = credentials.split(":", 1)
    try:
        return S3Source(
            spec.bucket,
            spec.prefix,
            endpoint_url=spec.endpoint_url,
            region=spec.region,
            access_key=access_key,
            secret_key=secret_key,
            timeout_s=min(timeout_s, 60.0),
        )
    except ValueError as exc:  # botocore refuses an endpoint or region it cannot use
        raise SourceError(f"cannot use s3://{spec.bucket}: {exc}") from exc
