"""Request and response bodies of the release routes (``/v1/indexes/{name}/releases``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.fields import VersionNumber
from indexes.releases import AnswerSpec, ModelSpec, RetrievalSpec

__all__ = ["ReleaseCreate", "ReleaseDiffOut", "ReleaseFieldChange", "ReleaseModelIn", "ReleaseOut", "ReleaseSettingsIn"]


class ReleaseModelIn(BaseModel):
    """The answerer: ``{"kind": "extractive"}``, or ``{"kind": "openai", "endpoint": "gpt", "name": "gpt-4o-mini"}``
    with an endpoint named in RAG_MODELS (``default``: RAG_LLM_BASE_URL)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    kind: Literal["extractive", "openai"]
    endpoint: str | None = Field(None, min_length=1, max_length=64)
    name: str | None = Field(None, min_length=1, max_length=256)
    temperature: float = Field(0.0, ge=0.0, le=2.0, allow_inf_nan=False)
    max_tokens: int = Field(400, ge=1, le=8192)


class ReleaseSettingsIn(BaseModel):
    """Retrieval settings that change answers; fields left out are the live release's."""

    model_config = ConfigDict(extra="forbid", strict=True)

    mode: Literal["hybrid", "dense", "sparse"] | None = None
    fusion: Literal["rrf", "dbsf"] | None = None
    top_k: int | None = Field(None, ge=1, le=50)
    refusal_threshold: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)
    calibrated_refusal: bool | None = None


class ReleaseCreate(BaseModel):
    """A new release: the fields given, the rest copied from the live release."""

    model_config = ConfigDict(extra="forbid", strict=True)

    version: VersionNumber | None = Field(None, description="The index version (default: the live release's).")
    prompt: str | None = Field(None, min_length=1, max_length=64, description="An answer prompt, e.g. `answer/v1`.")
    model: ReleaseModelIn | None = None
    settings: ReleaseSettingsIn | None = None

    def settings_patch(self) -> dict[str, Any]:
        """The settings fields given."""
        return {} if self.settings is None else self.settings.model_dump(exclude_none=True)


class ReleaseOut(BaseModel):
    """One release: what it stores (``prompt``/``model``/``settings`` null when it follows the settings) and
    what it answers with in this process (``effective``)."""

    index: str
    number: int
    version: int
    follows_settings: bool = Field(description="True: prompt, model and settings are the process's settings.")
    prompt: str | None
    model: ModelSpec | None
    settings: RetrievalSpec | None
    effective: AnswerSpec = Field(description="What the release answers with here, now.")
    live: bool
    canary: bool
    created_at: datetime
    created_by: str | None
    gate: dict[str, Any] | None = Field(
        None, description="The newest gate result of this release (`POST .../releases/{number}/gate`), if any."
    )


class ReleaseFieldChange(BaseModel):
    """One field that differs between two releases (of what they answer with now)."""

    field: str = Field(description="e.g. `version`, `prompt`, `model.name`, `settings.top_k`.")
    from_value: Any = Field(alias="from")
    to_value: Any = Field(alias="to")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class ReleaseDiffOut(BaseModel):
    """What differs between two releases of an index."""

    index: str
    from_release: int
    to_release: int
    changes: list[ReleaseFieldChange]
