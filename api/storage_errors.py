"""Maps a full disk met outside the index engines (the metadata database, files) to a JSON 507.

The engines check free space before they touch storage (:mod:`indexes.disk_space`), but the
volume can fill between that check and a write, and the metadata database writes an answer
record for every question. SQLite then raises "database or disk is full", PostgreSQL
"could not extend file", the OS ENOSPC; those answer 507 ``insufficient_storage`` naming the data
folder, and any other database or OS error a JSON 500 ``internal_error`` (never plain text).
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.errors import error_response
from indexes.disk_space import is_disk_full

__all__ = ["install_storage_error_handlers"]

log = logging.getLogger("api.errors")


def _data_dir(request: Request) -> Path | str:
    services = getattr(request.app.state, "services", None)
    return services.settings.data_dir if services is not None else "(unknown)"


def install_storage_error_handlers(app: FastAPI) -> None:
    """Register the handlers for database and OS errors on ``app``; messages name the data folder."""

    async def storage_error(request: Request, exc: Exception) -> JSONResponse:
        data_dir = _data_dir(request)
        if is_disk_full(exc) or "could not extend file" in str(exc):
            log.error("disk full under %s: %s", data_dir, exc)
            return error_response(
                507,
                "insufficient_storage",
                f"the data folder {data_dir} is full (a write failed); free space on that volume",
            )
        log.exception("request failed: %s", type(exc).__name__, exc_info=exc)
        return error_response(500, "internal_error", f"internal error ({type(exc).__name__}); see the server log")

    app.add_exception_handler(sqlalchemy.exc.OperationalError, storage_error)
    app.add_exception_handler(OSError, storage_error)
