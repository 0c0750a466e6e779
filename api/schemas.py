"""Request and response bodies of the HTTP API (separate from the domain types they map).

Request bodies are strict: a number or boolean sent as a string is refused (422), not converted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.fields import MAX_VERSION, AsOf, FreeText, Name, Question, VersionNumber
from rag.canary.policy import CanaryPolicyOverride
from rag.records import AnswerRecord

__all__ = [
    "AUTH_ERRORS",
    "AnswerRecord",
    "AskRequest",
    "CanaryOut",
    "CanaryRemoved",
    "CanaryRequest",
    "DocumentChangeOut",
    "ErrorBody",
    "ErrorOut",
    "HistoryTurn",
    "IndexSummary",
    "PromoteRequest",
    "PromoteResult",
    "RetentionRequest",
    "RetentionResult",
    "RollbackRequest",
    "VersionDiffOut",
    "VersionOut",
]


class HistoryTurn(BaseModel):
    """An earlier message of the conversation: the employee's question or the assistant's answer."""

    model_config = ConfigDict(extra="forbid", strict=True)

    role: Literal["user", "assistant"]
    content: FreeText


class AskRequest(BaseModel):
    """A question for the assistant (control characters are removed from it first)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    question: Question = Field(min_length=1, max_length=2000, description="The employee's question.")
    index: Name | None = Field(
        None,
        description="'policies' (the live alias) or 'policies@3' (a pinned version); default: the "
        "configured default index.",
        examples=["policies", "policies@3"],
    )
    top_k: int | None = Field(None, ge=1, le=50, description="How many chunks to retrieve.")
    history: list[HistoryTurn] = Field(
        default_factory=list,
        description="The conversation so far, oldest first: a follow-up question is made standalone from it "
        "(recorded as `standalone_question`). Over the size limit: 422 `conversation_too_long`.",
    )
    stream: bool = Field(
        False,
        description="Answer as server-sent events: `delta` {text} pieces, then `citations` {citations}, "
        "then `answer` (the full answer record); `error` {code, message} if the model fails mid-way.",
    )
    as_of: AsOf | None = None


class ErrorOut(BaseModel):
    code: str = Field(description="Stable, machine-readable error code.")
    message: str


class ErrorBody(BaseModel):
    """Every error response has this shape."""

    error: ErrorOut


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorBody,
        "description": "No credentials, an unknown or revoked API key or an opaque token (``unauthorized``), or an "
        "identity-provider token failing a check (``invalid_token``).",
    },
    403: {
        "model": ErrorBody,
        "description": "The caller's role or owned indexes do not allow this (``forbidden``), or a session-cookie "
        "change without its X-CSRF-Token (``csrf_failed``).",
    },
    429: {"model": ErrorBody, "description": "Over the key's rate limit (``rate_limited``); see Retry-After."},
}
"""Responses every authenticated route may give."""


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
    """An index, its live version, its canary (if any) and how many versions it has."""

    name: str
    alias: str
    live_version: int | None
    versions: int
    latest_version: int | None
    canary_version: int | None = Field(None, description="The version alias '<name>:canary' names, if any.")
    canary_share: float | None = Field(None, description="Share of unpinned questions the canary answers.")


class _ReleaseOrVersion(BaseModel):
    """Exactly one of ``release`` (a release of the index) and ``version`` (the live release with that
    index version swapped)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    version: VersionNumber | None = Field(
        None, description="An index version: the live release with this version (prompt and model kept)."
    )
    release: VersionNumber | None = Field(None, description="A release of the index (`GET .../releases`).")

    @model_validator(mode="after")
    def _exactly_one(self) -> _ReleaseOrVersion:
        if (self.version is None) == (self.release is None):
            raise ValueError("give exactly one of `version` and `release`")
        return self


class PromoteRequest(_ReleaseOrVersion):
    """Point the alias at a release, or at the live release with another index version."""

    force: bool = Field(
        False,
        description="Promote even though the release's gate failed (otherwise 409 `gate_failed`); "
        "a release never gated needs no force.",
    )


class PromoteResult(BaseModel):
    """The alias switch that happened."""

    index: str
    alias: str
    version: int
    previous_version: int | None
    release: int | None = Field(None, description="The release the alias names now.")
    previous_release: int | None = Field(None, description="The release it named before.")


class RollbackRequest(BaseModel):
    """Roll back to a particular earlier promoted release (default: the one before the live release)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    release: VersionNumber | None = None


class CanaryRequest(_ReleaseOrVersion):
    """Make a release (or the live release with another ready version) the canary, answering ``share``
    of the questions that name no version."""

    share: float = Field(
        gt=0,
        le=1,
        allow_inf_nan=False,
        description="Share of unpinned questions answered by the canary (0 < share <= 1).",
    )
    policy: CanaryPolicyOverride | None = Field(
        None, description="The canary policy for this canary; fields left out come from the settings (RAG_CANARY_*)."
    )


class CanaryOut(BaseModel):
    """An index's canary: the version its canary alias names and its traffic share."""

    index: str
    alias: str
    version: int
    share: float
    release: int | None = Field(None, description="The release the canary answers with.")


class CanaryRemoved(BaseModel):
    """The canary that was removed; ``version`` and ``share`` are null when there was none."""

    index: str
    alias: str
    version: int | None
    share: float | None


class RetentionRequest(BaseModel):
    """Run retention now; ``keep`` defaults to the configured ``RAG_RETAIN_VERSIONS``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    keep: int | None = Field(None, ge=1, le=MAX_VERSION, description="How many of the newest ready versions to keep.")
    keep_days: int | None = Field(
        None,
        ge=0,
        le=36500,
        description="Also keep every version live within this many days; default `RAG_RETAIN_LIVE_DAYS`.",
    )


class RetentionResult(BaseModel):
    """What retention did: the versions whose storage it dropped."""

    index: str
    keep: int
    keep_days: int = 0
    dropped: list[int]


class DocumentChangeOut(BaseModel):
    """A document that differs between two versions; null on the side where it is absent."""

    doc_id: str
    title: str
    from_chunks: int | None
    to_chunks: int | None
    from_hash: str | None
    to_hash: str | None


class VersionDiffOut(BaseModel):
    """Documents added, changed (content hash or chunk count) and removed between two versions."""

    index: str
    from_version: int
    to_version: int
    added: list[DocumentChangeOut]
    changed: list[DocumentChangeOut]
    removed: list[DocumentChangeOut]
    unchanged: int
    from_chunks: int
    to_chunks: int
