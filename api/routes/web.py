"""The web pages: the ask page at ``/``, the admin page at ``/admin``, the document viewer at ``/view``.

Plain HTML, CSS and JavaScript modules from ``api/static`` (committed; no build step). The pages
call the same ``/v1`` API as every other client.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC_DIR", "router", "static_files"]

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

router = APIRouter(include_in_schema=False)

_HEADERS = {
    "Cache-Control": "no-cache",
    # only this origin's scripts, styles and API; no inline script, no framing
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type="text/html", headers=_HEADERS)


@router.get("/")
def ask_page() -> FileResponse:
    """The ask page."""
    return _page("index.html")


@router.get("/admin")
def admin_page() -> FileResponse:
    """The admin page (indexes, versions, jobs, diff, build / promote / roll back)."""
    return _page("admin.html")


@router.get("/view")
def document_page() -> FileResponse:
    """A document of one version, with the cited passage highlighted."""
    return _page("view.html")


def static_files() -> StaticFiles:
    """The pages' scripts, styles and icons, mounted at ``/static``."""
    return StaticFiles(directory=STATIC_DIR)
