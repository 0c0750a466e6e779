"""Request and response bodies of the HTTP API (separate from the domain types they map)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rag.records import AnswerRecord

__all__ = [
    "AnswerRecord",
    "AskRequest",
    "ErrorBody",
    "ErrorOut",
    "IndexSummary",
    "PromoteRequest",
    "PromoteResult",
    "VersionOut",
]


class AskRequest(BaseModel):
    """A question for the assistant."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000, description="The employee's question.")
    index: str | None = Field(
        None,
        description="'policies' (the live alias) or 'policies@3' (a pinned version); default: the "
        "configured default index.",
        examples=["policies", "policies@3"],
    )
    top_k: int | None = Field(None, ge=1, le=50, description="How many chunks to retrieve.")


class ErrorOut(BaseModel):
    code: str = Field(description="Stable, machine-readable error code.")
    message: str


class ErrorBody(BaseModel):
    """Every error response has this shape."""

    error: ErrorOut


class VersionOut(BaseModel):
    """One version of an index; ``manifest`` is present once it is ready."""

    index: str
    version: int
    state: str
    live: bool
    created_at: datetime
    finished_at: datetime | None
    chunk_count: int | None
    document_count: int | None
    error: str | None
    manifest: dict[str, Any] | None


class IndexSummary(BaseModel):
    """An index, its live version and how many versions it has."""

    name: str
    alias: str
    live_version: int | None
    versions: int
    latest_version: int | None


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)


class PromoteResult(BaseModel):
    """The alias switch that happened."""

    index: str
    alias: str
    version: int
    previous_version: int | None
