"""A Confluence Cloud REST API v2 test server on loopback: spaces, a space's pages with cursor pagination and
storage-format bodies, page labels, Basic authentication; scripted pages that tests edit, delete and break."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.support.live_server import LiveServer

__all__ = ["ConfluenceTestServer", "Page"]

EMAIL, API_TOKEN = "bot@example.org", "confluence-token-DO-NOT-LEAK"


@dataclass
class Page:
    """One page of the space: its storage-format body, version number and labels."""

    id: str
    title: str
    body: str
    version: int = 1
    labels: list[str] = field(default_factory=list)
    status: str = "current"
    read_groups: list[str] = field(default_factory=list)
    """Confluence groups its read restrictions name (empty: anyone in the space may read it)."""


class ConfluenceTestServer:
    """``with ConfluenceTestServer() as c: c.url, c.pages[...]``; ``fail_after_first_page`` breaks pagination."""

    space_key = "HR"
    space_id = "98765"

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.fail_after_first_page = False
        self.requests: list[str] = []
        self.app = self._app()
        self._server = LiveServer(self.app)
        self.url = self._server.url

    def _authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def auth(request: Request, call_next: Any) -> Any:
            self.requests.append(f"{request.url.path}?{request.url.query}")
            if not self._authorized(request):
                return JSONResponse({"code": 401, "message": "Unauthorized"}, status_code=401)
            return await call_next(request)

        @app.get("/wiki/api/v2/spaces")
        def spaces(keys: str = "") -> dict[str, Any]:
            found = [{"id": self.space_id, "key": self.space_key, "name": "People"}] if self.space_key in keys else []
            return {"results": found, "_links": {}}

        @app.get("/wiki/api/v2/spaces/{space_id}/pages")
        def pages(space_id: str, request: Request, limit: int = 25, cursor: int = 0, status: str = "current") -> Any:
            if space_id != self.space_id:
                return JSONResponse({"message": "not found"}, status_code=404)
            if cursor and self.fail_after_first_page:
                return JSONResponse({"message": "Internal Server Error"}, status_code=500)
            current = [p for p in sorted(self.pages.values(), key=lambda p: p.id) if p.status == status]
            chunk = current[cursor : cursor + limit]
            with_body = request.query_params.get("body-format") == "storage"
            results = []
            for p in chunk:
                item: dict[str, Any] = {
                    "id": p.id,
                    "status": p.status,
                    "title": p.title,
                    "spaceId": self.space_id,
                    "version": {"number": p.version, "createdAt": "2026-11-30T10:00:00.000Z"},
                }
                if with_body:
                    item["body"] = {"storage": {"value": p.body, "representation": "storage"}}
                results.append(item)
            links: dict[str, str] = {}
            if cursor + limit < len(current):
                query = f"limit={limit}&status={status}&cursor={cursor + limit}"
                if with_body:
                    query += "&body-format=storage"
                links["next"] = f"/wiki/api/v2/spaces/{space_id}/pages?{query}"
            return {"results": results, "_links": links}

        @app.get("/wiki/api/v2/pages/{page_id}/labels")
        def labels(page_id: str) -> Any:
            page = self.pages.get(page_id)
            if page is None:
                return JSONResponse({"message": "not found"}, status_code=404)
            return {"results": [{"id": str(n), "name": name, "prefix": "global"} for n, name in enumerate(page.labels)]}

        @app.get("/wiki/rest/api/content/{page_id}/restriction/byOperation/read")
        def read_restrictions(page_id: str) -> Any:
            page = self.pages.get(page_id)
            if page is None:
                return JSONResponse({"message": "not found"}, status_code=404)
            groups = [{"type": "group", "name": g, "id": g} for g in page.read_groups]
            return {
                "operation": "read",
                "restrictions": {
                    "user": {"results": [], "start": 0, "limit": 200, "size": 0},
                    "group": {"results": groups, "start": 0, "limit": 200, "size": len(groups)},
                },
            }

        return app

    def __enter__(self) -> ConfluenceTestServer:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(None, None, None)
