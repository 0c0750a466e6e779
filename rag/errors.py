"""The error hierarchy; every error carries a stable machine-readable code.

RagError
├── InvalidInput            (422)  bad question, bad index reference
│   ├── QuestionTooLong
│   ├── ConversationTooLong        a conversation over the size limit
│   └── ConversationWithoutQuestion  a conversation with no user turn to answer
├── NotFound                (404)
│   ├── IndexNotFound
│   ├── VersionNotFound
│   ├── DocumentNotFound
│   └── AnswerDiffNotFound         a version the gate kept no answer diff for
├── PayloadTooLarge         (413)  an upload over the size limit
├── UnsupportedMediaType    (415)  an upload whose content is not a supported document type
├── Conflict                (409)  e.g. promoting a version that is not ready
├── ModelUnavailable        (503)  the answer model cannot be reached
├── EmbedderUnavailable     (503)  a version's embedder cannot be loaded
└── SourceError             (CLI)  a missing or unreadable build source
"""

from __future__ import annotations

__all__ = [
    "EMPTY_QUESTION",
    "AnswerDiffNotFound",
    "Conflict",
    "ConversationTooLong",
    "ConversationWithoutQuestion",
    "DocumentNotFound",
    "EmbedderUnavailable",
    "IndexNotFound",
    "InvalidInput",
    "ModelUnavailable",
    "NotFound",
    "PayloadTooLarge",
    "QuestionEmpty",
    "QuestionTooLong",
    "RagError",
    "SourceError",
    "UnsupportedMediaType",
    "VersionNotFound",
]


class RagError(Exception):
    """Base of every error the service reports; ``code`` is stable across releases."""

    code = "rag_error"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(RagError):
    code = "invalid_input"
    status = 422


class QuestionEmpty(InvalidInput):
    code = "question_empty"


EMPTY_QUESTION = "the question is empty (control characters and surrounding spaces do not count)"
"""What every route says of a question with nothing left once control characters and spaces are removed."""


class QuestionTooLong(InvalidInput):
    code = "question_too_long"


class ConversationTooLong(InvalidInput):
    code = "conversation_too_long"


class ConversationWithoutQuestion(InvalidInput):
    code = "conversation_without_question"


class NotFound(RagError):
    code = "not_found"
    status = 404


class IndexNotFound(NotFound):
    code = "index_not_found"


class VersionNotFound(NotFound):
    code = "version_not_found"


class DocumentNotFound(NotFound):
    code = "document_not_found"


class AnswerDiffNotFound(NotFound):
    code = "answer_diff_not_found"


class PayloadTooLarge(RagError):
    code = "upload_too_large"
    status = 413


class UnsupportedMediaType(RagError):
    code = "unsupported_media_type"
    status = 415


class Conflict(RagError):
    code = "conflict"
    status = 409


class ModelUnavailable(RagError):
    code = "model_unavailable"
    status = 503


class EmbedderUnavailable(RagError):
    code = "embedder_unavailable"
    status = 503


class SourceError(RagError):
    code = "source_error"
    status = 422
