"""The access errors: not identified (401), not allowed (403), too many requests (429).

RagError (rag/errors.py)
├── Unauthorized     (401)  no credentials, an unknown or revoked API key, an opaque token
│   └── InvalidToken (401)  a token of the identity provider that fails validation
├── Forbidden        (403)  too low a role, an index the caller does not own, groups it is not in
└── RateLimited      (429)  over the per-caller rate, with ``Retry-After``
"""

from __future__ import annotations

from rag.errors import RagError

__all__ = ["Forbidden", "InvalidToken", "RateLimited", "Unauthorized"]


class Unauthorized(RagError):
    code = "unauthorized"
    status = 401
    headers = {"WWW-Authenticate": "Bearer"}


class InvalidToken(Unauthorized):
    """A bearer JWT that is expired, not yet valid, for another audience or issuer, or badly signed."""

    code = "invalid_token"
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class Forbidden(RagError):
    code = "forbidden"
    status = 403


class RateLimited(RagError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}
