"""A Confluence space as a ``Source`` (Cloud REST API v2 over httpx): its current pages in storage format.

Pages are listed with ``GET /wiki/api/v2/spaces/{id}/pages`` following the ``_links.next`` cursor
to the end (a page of the listing that fails fails the whole listing). Each page becomes an HTML
document named ``<page id>.html`` (stable across title changes) whose revision is the page's version
number; the loaders read it through the HTML loader. Page labels map to access groups by setting
(``label_groups``); a page with a label that maps to no group keeps the default rules. A page with
read restrictions (``/wiki/rest/api/content/{id}/restriction/byOperation/read``; v2 has no
restrictions endpoint) is left out and named in the snapshot's ``skipped``: who may read it in
Confluence cannot be mapped to access groups safely. Deleted, archived and trashed pages are not
listed, so they leave the next version.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from ingest.access_groups import GROUPS_KEY
from ingest.sources.base import Snapshot, SourceDocument, combined_revision
from rag.errors import SourceError

__all__ = ["ConfluenceSource"]


class ConfluenceSource:
    """Current pages of the space ``space`` (its key) at ``base_url`` (``https://example.atlassian.net``).

    ``credentials`` is ``email:api_token`` (Basic) or a token sent as Bearer. Cloud's v2 endpoints only
    (Data Center has v1). ``transport`` is a test seam (httpx's).
    """

    kind = "confluence"

    def __init__(
        self,
        base_url: str,
        space: str,
        *,
        credentials: str | None = None,
        label_groups: dict[str, list[str]] | None = None,
        timeout_s: float = 30.0,
        page_limit: int = 250,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.space = space
        self.label_groups = label_groups or {}
        self.page_limit = page_limit
        auth: httpx.Auth | None = None
        headers = {"Accept": "application/json"}
        if credentials and ":" in credentials:
            user, token = credentials.split(":", 1)
            auth = httpx.BasicAuth(user, token)
        elif credentials:
            headers["Authorization"] = f"Bearer {credentials}"
        self._client_args: dict[str, Any] = {
            "base_url": self.base_url,
            "auth": auth,
            "headers": headers,
            "timeout": timeout_s,
            "transport": transport,
        }
        self._http: httpx.Client | None = None
        self._bodies: dict[str, bytes] = {}

    @contextmanager
    def _session(self) -> Iterator[None]:
        """One HTTP connection pool per listing, closed when it ends."""
        with httpx.Client(**self._client_args) as http:
            self._http = http
            try:
                yield
            finally:
                self._http = None

    @property
    def label(self) -> str:
        """``confluence <base url> space <KEY>``."""
        return f"confluence {self.base_url} space {self.space}"

    def _get(self, url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        assert self._http is not None, "inside _session() only"
        try:
            response = self._http.get(url, params=params)
        except httpx.HTTPError as exc:
            raise SourceError(f"{self.label}: {type(exc).__name__}: {exc}") from exc
        if response.status_code in (401, 403):
            raise SourceError(f"{self.label}: the credentials were refused ({response.status_code})")
        if response.status_code != 200:
            raise SourceError(f"{self.label}: GET {url} answered {response.status_code}")
        try:
            data: dict[str, Any] = response.json()
        except ValueError as exc:
            raise SourceError(f"{self.label}: GET {url} did not answer JSON") from exc
        return data

    def _all(self, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every result of a paginated v2 listing (following ``_links.next`` to the end)."""
        results: list[dict[str, Any]] = []
        next_url: str | None = url
        first = True
        while next_url:
            try:
                data = self._get(next_url, params if first else None)
            except SourceError as exc:
                got = f" after {len(results)} results" if results else ""
                raise SourceError(f"listing {self.label} failed{got}: {exc.message}") from exc
            first = False
            results.extend(data.get("results", []))
            next_url = (data.get("_links") or {}).get("next")
        return results

    def _space_id(self) -> str:
        spaces = self._get("/wiki/api/v2/spaces", {"keys": self.space}).get("results", [])
        if not spaces:
            raise SourceError(f"{self.label}: no such space (or no permission to see it)")
        return str(spaces[0]["id"])

    def _pages(self, with_bodies: bool) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": self.page_limit, "status": "current"}
        if with_bodies:
            params["body-format"] = "storage"
        return self._all(f"/wiki/api/v2/spaces/{self._space_id()}/pages", params)

    def revision(self) -> str:
        """A hash of every current page's (id, version number): one listing, without page bodies."""
        with self._session():
            pages = self._pages(False)
        return combined_revision((str(p["id"]), str(p["version"]["number"])) for p in pages)

    def changed_since(self, revision: str | None) -> bool:
        """Whether a page was added, edited, moved out or deleted since ``revision``."""
        return revision is None or self.revision() != revision

    def snapshot(self) -> Snapshot:
        """Every current page as an HTML document, with its version, labels and (mapped) access groups."""
        with self._session():
            return self._snapshot()

    def _snapshot(self) -> Snapshot:
        pages = self._pages(True)
        if not pages:
            raise SourceError(f"{self.label} has no current pages")
        docs: list[SourceDocument] = []
        self._bodies = {}
        skipped: list[str] = []
        for page in pages:
            page_id, title = str(page["id"]), str(page.get("title") or page["id"])
            if self._restricted(page_id):
                skipped.append(f"{page_id}.html (read-restricted: {title})")
                continue
            version = int(page["version"]["number"])
            storage = str(((page.get("body") or {}).get("storage") or {}).get("value") or "")
            body = (
                f"<html><head><title>{html.escape(title)}</title></head>"
                f"<body><h1>{html.escape(title)}</h1>\n{storage}</body></html>"
            ).encode()
            labels = sorted(
                str(label["name"]) for label in self._all(f"/wiki/api/v2/pages/{page_id}/labels", {"limit": 250})
            )
            metadata: dict[str, Any] = {"revision": {"page_id": page_id, "version": version, "labels": labels}}
            groups = sorted({g for label in labels for g in self.label_groups.get(label, [])})
            if groups:
                metadata[GROUPS_KEY] = groups
            name = f"{page_id}.html"
            self._bodies[name] = body
            docs.append(SourceDocument(name, str(version), f"{page_id}-{version}-{len(body)}", len(body), metadata))
        if not docs:
            raise SourceError(f"{self.label} has no pages without read restrictions")
        docs.sort(key=lambda d: d.name)
        return Snapshot(combined_revision((d.name.removesuffix(".html"), d.revision) for d in docs), docs, skipped)

    def _restricted(self, page_id: str) -> bool:
        """Whether anyone limited who may read the page (users or groups in its read restrictions)."""
        data = self._get(f"/wiki/rest/api/content/{page_id}/restriction/byOperation/read")
        restrictions = data.get("restrictions") or {}
        return any(
            (restrictions.get(kind) or {}).get("size", len((restrictions.get(kind) or {}).get("results", [])))
            for kind in ("user", "group")
        )

    def read(self, doc: SourceDocument) -> bytes:
        """The page as an HTML document (from the last snapshot, which carried the bodies)."""
        if doc.name not in self._bodies:
            raise SourceError(f"{self.label}: {doc.name} is not in the last listing")
        return self._bodies[doc.name]

    def local_path(self, doc: SourceDocument) -> Path | None:
        """None: pages are written to the staging folder."""
        return None
