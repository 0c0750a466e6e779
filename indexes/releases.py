"""Releases: what answers an index's questions -- index version, prompt, answerer and retrieval settings.

A release is immutable and numbered per index (1, 2, 3, ...). It either *follows the settings*
(``spec`` None: the prompt, model and retrieval settings are whatever the process's settings say;
every release made from a promoted version by the migration is one, so upgrading changes no
answer) or is *pinned* (``spec`` holds all three). A release names a model endpoint only by its
name in the settings (``RAG_MODELS``): no URL or secret is ever stored here.

The aliases name releases (``release_aliases`` in the catalog); the engine alias keeps naming the
release's index version, so a promote, canary or rollback is still one alias switch.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Self

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.exc import IntegrityError

from rag.errors import NotFound

__all__ = [
    "AnswerSpec",
    "ModelSpec",
    "Release",
    "ReleaseNotFound",
    "ReleaseStore",
    "RetrievalSpec",
    "releases_table",
]

metadata = sa.MetaData()

releases_table = sa.Table(
    "releases",
    metadata,
    sa.Column("index_name", sa.String(128), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("prompt", sa.String(64)),
    sa.Column("model_kind", sa.String(16)),
    sa.Column("model_endpoint", sa.String(64)),
    sa.Column("model_name", sa.String(256)),
    sa.Column("temperature", sa.Float),
    sa.Column("max_tokens", sa.Integer),
    sa.Column("settings", sa.Text),
    sa.Column("follows_settings", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(256)),
)


class ReleaseNotFound(NotFound):
    """The index has no release with that number."""

    code = "release_not_found"


class ModelSpec(BaseModel):
    """The answerer of a release: the extractive one, or a model behind a named OpenAI-protocol endpoint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["extractive", "openai"] = Field(description="`extractive` (no model) or `openai` (an endpoint).")
    endpoint: str | None = Field(
        None, max_length=64, description="The endpoint's name in RAG_MODELS (`default`: RAG_LLM_BASE_URL)."
    )
    name: str | None = Field(None, min_length=1, max_length=256, description="The model name sent to the endpoint.")
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(400, ge=1, le=8192)

    @model_validator(mode="after")
    def _fields_of_the_kind(self) -> Self:
        if self.kind == "openai" and (not self.endpoint or not self.name):
            raise ValueError("an openai model needs an endpoint name and a model name")
        if self.kind == "extractive" and (self.endpoint or self.name):
            raise ValueError("the extractive answerer takes no endpoint or model name")
        return self

    def label(self) -> str:
        """``extractive`` or ``endpoint:name``."""
        return "extractive" if self.kind == "extractive" else f"{self.endpoint}:{self.name}"


class RetrievalSpec(BaseModel):
    """The retrieval settings of a release that change answers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["hybrid", "dense", "sparse"]
    fusion: Literal["rrf", "dbsf"]
    top_k: int = Field(ge=1, le=50)
    refusal_threshold: float = Field(ge=0.0, le=1.0, description="Best similarity below which a question is refused.")
    calibrated_refusal: bool = Field(
        True, description="Use the version's calibrated refusal model when it has one (else the threshold)."
    )


class AnswerSpec(BaseModel):
    """Everything of a pinned release besides its index version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str = Field(description="The answer prompt, e.g. `answer/v2`.")
    model: ModelSpec
    settings: RetrievalSpec


@dataclass(frozen=True, slots=True)
class Release:
    """One release of an index. ``spec`` None: it follows the process's settings."""

    index: str
    number: int
    version: int
    spec: AnswerSpec | None
    created_at: datetime
    created_by: str | None

    @property
    def follows_settings(self) -> bool:
        """Whether the prompt, model and retrieval settings are the process's settings."""
        return self.spec is None


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _release(m: sa.RowMapping) -> Release:
    spec = None
    if not m["follows_settings"]:
        model = ModelSpec(
            kind=m["model_kind"],
            endpoint=m["model_endpoint"],
            name=m["model_name"],
            temperature=m["temperature"],
            max_tokens=m["max_tokens"],
        )
        spec = AnswerSpec(prompt=m["prompt"], model=model, settings=RetrievalSpec(**json.loads(m["settings"])))
    return Release(
        index=str(m["index_name"]),
        number=int(m["number"]),
        version=int(m["version"]),
        spec=spec,
        created_at=_aware(m["created_at"]),
        created_by=m["created_by"],
    )


class ReleaseStore:
    """Releases in the metadata database.

    Guarantees: numbers per index are allocated once, from 1, and never reused; a release row is
    written once and never changed, so a release read once is cached for the life of the process.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._db = engine
        metadata.create_all(engine)
        self._cache: dict[tuple[str, int], Release] = {}
        self._lock = threading.Lock()

    def create(
        self,
        index: str,
        version: int,
        spec: AnswerSpec | None,
        created_by: str | None = None,
        *,
        created_at: datetime | None = None,
    ) -> Release:
        """Store a new release of ``index`` with the next number and return it."""
        t = releases_table
        values: dict[str, object] = {
            "index_name": index,
            "version": version,
            "follows_settings": spec is None,
            "created_at": created_at or datetime.now(UTC),
            "created_by": created_by[:256] if created_by else None,
        }
        if spec is not None:
            values.update(
                prompt=spec.prompt,
                model_kind=spec.model.kind,
                model_endpoint=spec.model.endpoint,
                model_name=spec.model.name,
                temperature=spec.model.temperature,
                max_tokens=spec.model.max_tokens,
                settings=spec.settings.model_dump_json(),
            )
        for _ in range(20):
            with self._db.begin() as conn:
                current = conn.execute(sa.select(sa.func.max(t.c.number)).where(t.c.index_name == index)).scalar()
                number = int(current or 0) + 1
                try:
                    conn.execute(t.insert().values(number=number, **values))
                except IntegrityError:
                    continue
            return self.get(index, number)
        raise RuntimeError(f"could not allocate a release number for index {index!r}")

    def get(self, index: str, number: int) -> Release:
        """The release ``number`` of ``index``; ReleaseNotFound (404) when there is none."""
        key = (index, number)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        t = releases_table
        with self._db.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.index_name == index, t.c.number == number)).first()
        if row is None:
            raise ReleaseNotFound(f"index {index!r} has no release {number}")
        release = _release(row._mapping)
        with self._lock:
            self._cache[key] = release
        return release

    def list(self, index: str) -> list[Release]:
        """Every release of ``index``, newest first."""
        t = releases_table
        with self._db.connect() as conn:
            rows = conn.execute(sa.select(t).where(t.c.index_name == index).order_by(t.c.number.desc())).all()
        return [_release(r._mapping) for r in rows]

    def find(self, index: str, version: int, spec: AnswerSpec | None) -> Release | None:
        """The newest release of ``index`` with exactly this version and spec, or None."""
        for release in self.list(index):
            if release.version == version and release.spec == spec:
                return release
        return None

    def count(self, index: str) -> int:
        """How many releases ``index`` has."""
        t = releases_table
        with self._db.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).where(t.c.index_name == index)).scalar() or 0)
