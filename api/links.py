"""Links to the web pages from outside the browser (Slack messages, MCP results): absolute URLs.

The base is ``public_url`` when set, else ``http://host:port`` of ``rag serve``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from rag.settings import Settings

__all__ = ["public_base", "viewer_link"]


def public_base(settings: Settings) -> str:
    """The address employees reach the app at, without a trailing slash."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def viewer_link(settings: Settings, index: str, version: int, doc_id: str, chunk_id: str | None = None) -> str:
    """The document viewer (``/view``) on ``doc_id`` as ``index@version`` holds it, the chunk highlighted.

    The query has the same fields the ask page's citation links use, so both open the same view.
    """
    params = {"index": index, "version": str(version), "doc": doc_id}
    if chunk_id is not None:
        params["chunk"] = chunk_id
    return f"{public_base(settings)}/view?{urlencode(params)}"
