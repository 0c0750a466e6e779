"""The answer record: what every answer says about itself (pydantic, also the API's response body)."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["AnswerRecord", "CitationOut", "IndexOut", "ModelOut", "PromptOut"]


class CitationOut(BaseModel):
    """One citation: marker ``n`` in the answer text, the chunk it names and the quoted passage."""

    n: int = Field(description="The [n] marker in the answer text.")
    doc_id: str
    title: str
    heading_path: list[str]
    page: int | None
    source: str = Field(description="Source file, relative to the index's source folder.")
    chunk_id: str
    quote: str = Field(description="A passage that occurs verbatim in the cited chunk.")
    score: float = Field(description="The chunk's cosine similarity to the question.")
    start: int = Field(description="Offset of the chunk in the normalized document.")
    end: int


class IndexOut(BaseModel):
    """Which version answered, and through which alias (None when the version was pinned)."""

    name: str
    alias: str | None
    version: int


class PromptOut(BaseModel):
    name: str
    version: str


class ModelOut(BaseModel):
    provider: str
    name: str


class AnswerRecord(BaseModel):
    """An answer with everything needed to reproduce and audit it."""

    answer_id: str
    question: str
    answer: str
    citations: list[CitationOut]
    index: IndexOut
    prompt: PromptOut
    model: ModelOut
    refused: bool
    citations_dropped: int = Field(0, description="Citations the model made that named no retrieved chunk.")
    timings_ms: dict[str, float]
