"""Maps errors to HTTP responses with stable codes: ``{"error": {"code", "message"}}``.

Every error has that shape, an unexpected one too (500 ``internal_error``; its traceback goes to
the log, not to the caller).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.errors import EMPTY_QUESTION, RagError

__all__ = ["error_response", "install_error_handlers"]

log = logging.getLogger("api.errors")

# Field-specific codes for validation failures callers commonly need to tell apart.
_FIELD_CODES = {
    ("question", "string_too_short"): "question_empty",
    ("question", "string_too_long"): "question_too_long",
    ("question", "missing"): "question_missing",
}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error body shape every route returns."""
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}}, headers=headers)


async def _rag_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RagError)
    if exc.status >= 500:
        log.warning("request failed: %s: %s", exc.code, exc.message)
    return error_response(exc.status, exc.code, exc.message, getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    field = loc[-1] if loc else ""
    code = _FIELD_CODES.get((field, str(first.get("type", ""))), "validation_error")
    where = ".".join(loc) or "request"
    message = str(first.get("msg", "invalid request"))
    if code == "question_empty":
        message = EMPTY_QUESTION
    if first.get("type") == "missing" and _is_form(request):
        message = "required, and must not be blank"  # a form field sent empty reads as missing
    return error_response(422, code, f"{where}: {message}")


def _is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded"))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Anything no other handler maps: a 500 in the documented shape, never a plain-text page."""
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "the server failed unexpectedly; the error is in its log")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI answers 400 to a body it cannot parse at all (bytes that are not UTF-8, a broken
        # multipart form); like every other malformed request that is a 422 here.
        return error_response(422, "malformed_body", f"request: {exc.detail}")
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(RagError, _rag_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
