"""The answer record: what every answer says about itself (pydantic, also the API's response body)."""

from __future__ import annotations

from datetime import datetime
from typing import NotRequired

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer
from typing_extensions import TypedDict

__all__ = ["AnswerRecord", "CitationOut", "IndexFields", "IndexOut", "ModelOut", "PromptOut", "SentenceSupport"]


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
    quote_start: int | None = Field(
        None, description="Offset of the quote in the version's normalized document text (null: not located)."
    )
    quote_end: int | None = Field(None, description="End of the quote: text[quote_start:quote_end] == quote.")


class IndexFields(TypedDict):
    """The serialized shape of :class:`IndexOut` (what the OpenAPI schema shows)."""

    name: str
    alias: str | None
    version: int
    # the handler has already made JSON strings of the datetimes when dumping to JSON
    as_of: NotRequired[datetime | str | None]
    live_from: NotRequired[datetime | str | None]
    live_until: NotRequired[datetime | str | None]


class IndexOut(BaseModel):
    """Which version answered, and through which alias (None when the version was pinned).

    For a question asked ``as_of`` a moment, also that moment (UTC) and the answering version's
    time as the live one, ``[live_from, live_until)`` (``live_until`` null: it is still live);
    other answers leave these three keys out.
    """

    name: str
    alias: str | None
    version: int
    as_of: datetime | None = Field(None, description="The moment asked about (UTC), for an as-of question.")
    live_from: datetime | None = Field(None, description="When the answering version went live (as-of questions).")
    live_until: datetime | None = Field(
        None, description="When it stopped being live; null while it is (as-of questions)."
    )

    @model_serializer(mode="wrap")
    def _without_as_of_fields(self, handler: SerializerFunctionWrapHandler) -> IndexFields:
        """An answer not asked as of a moment keeps the shape it always had: {name, alias, version}."""
        data: IndexFields = handler(self)
        if self.as_of is None:
            for key in ("as_of", "live_from", "live_until"):
                data.pop(key, None)  # type: ignore[misc]
        return data


class PromptOut(BaseModel):
    name: str
    version: str


class ModelOut(BaseModel):
    provider: str
    name: str


class SentenceSupport(BaseModel):
    """How one sentence of a model's answer stands against the sources it cites."""

    text: str = Field(description="The sentence, with its [n] markers.")
    cited: list[int] = Field(description="The markers of the sentence that name a retrieved source.")
    supported: bool = Field(description="False when any problem was found: the sentence is flagged.")
    problems: list[str] = Field(
        description="`no_citation`, `figure_not_in_source` (see `missing_figures`), `words_not_in_source`."
    )
    figures: list[str] = Field(description="The figures the sentence states, in canonical form ('1500', '2.5').")
    missing_figures: list[str] = Field(description="Figures that occur in none of the cited sources.")
    overlap: float = Field(description="Share of the sentence's content words found in its cited sources.")


class AnswerRecord(BaseModel):
    """An answer with everything needed to reproduce and audit it."""

    answer_id: str
    question: str
    answer: str
    citations: list[CitationOut]
    index: IndexOut
    release: int | None = Field(
        None,
        description="The release of the index that answered (its index version, prompt and model are given "
        "beside it); null for a pinned index version (`policies@3`) or an answer recorded before releases.",
    )
    prompt: PromptOut
    model: ModelOut
    refused: bool
    citations_dropped: int = Field(0, description="Citations the model made that named no retrieved chunk.")
    timings_ms: dict[str, float]
    grounded: bool = Field(
        True,
        description="Every sentence of a model's answer is supported by the sources it cites (extractive "
        "answers quote the sources verbatim and are always grounded).",
    )
    support: list[SentenceSupport] = Field(
        default_factory=list, description="Per sentence of a model's answer: what it cites and whether it is supported."
    )
    standalone_question: str | None = Field(
        None, description="A follow-up question made standalone from the conversation (what was searched)."
    )
