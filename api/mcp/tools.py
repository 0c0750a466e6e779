"""The MCP tools and resources: ask the policies, search them, list the indexes, read a document.

Every tool acts for one caller (:class:`~rag.access.principal.Principal`), found by ``caller`` from
the request (``/mcp``: its bearer credentials; stdio: the key ``rag mcp`` was started with), and goes
through the same code as the HTTP API: ``rag.access.asking.ask_as`` (validated as an
``AskRequest``), ``rag.access.searching.search_as``, the index listing and the document viewer's
loader. So the caller's access groups filter every search inside the engine's query, and a document
outside them is as unknown as a missing one. Bad arguments and refused requests come back as a
tool error (``isError``) naming the error code, never as a crashed session.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.shared.uri_template import UriTemplate
from mcp.types import ListResourcesResult, PaginatedRequestParams, Resource, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from api.index_listing import index_summaries
from api.links import viewer_link
from api.routes.document_text import load_document
from api.schemas import AskRequest, IndexSummary
from rag.access.asking import ask_as
from rag.access.principal import Principal
from rag.access.searching import MAX_SEARCH_RESULTS, search_as
from rag.access.visibility import entry_visible
from rag.errors import RagError
from rag.wiring import Services

__all__ = ["DOCUMENT_URI", "AskResult", "Caller", "Passage", "SearchResult", "build_mcp_server"]

Caller = Callable[[Context[Any, Any]], Principal]
"""Who a tool call acts for, from its context."""

DOCUMENT_URI = "policy://{index}/{version}/{+doc_id}"
"""A document as one version holds it: ``policy://policies/3/people/annual-leave.md``."""

_INSTRUCTIONS = (
    "Company policy documents (HR, leave, expenses, travel, IT, security, compliance), answered from "
    "versioned indexes with citations. Use ask_policies for a question an employee asks about a "
    "company rule; search_policies to find the passages themselves; list_indexes to see which "
    "indexes and versions exist. Quote the citations' links when you answer."
)


class Citation(BaseModel):
    """A numbered source of an answer: marker ``[n]`` in the answer text."""

    n: int
    title: str
    doc_id: str
    heading_path: list[str]
    page: int | None
    quote: str = Field(description="A passage that occurs verbatim in the cited document.")
    link: str = Field(description="The document viewer on the cited passage.")
    resource: str = Field(description="The document as an MCP resource (policy://index/version/doc_id).")


class AskResult(BaseModel):
    """An answer of the policy assistant, with its citations and the index version that produced it."""

    answer: str
    citations: list[Citation]
    refused: bool = Field(description="True when the policies do not cover the question (no answer was made up).")
    index: str
    version: int
    live_from: datetime | None = Field(None, description="For an as-of question: when the answering version went live.")
    live_until: datetime | None = Field(
        None, description="For an as-of question: when it stopped being live (null: still live)."
    )
    answer_id: str = Field(description="The recorded answer (feedback: POST /v1/answers/{answer_id}/feedback).")


class Passage(BaseModel):
    """A passage of a policy document, as the index version holds it."""

    rank: int
    title: str
    doc_id: str
    heading_path: list[str]
    page: int | None
    text: str
    score: float = Field(description="Cosine similarity of the passage to the query.")
    link: str
    resource: str


class SearchResult(BaseModel):
    """The passages a search found, best first, and the index version searched."""

    index: str
    version: int
    passages: list[Passage]


_DOCUMENT_TEMPLATE = UriTemplate.parse(DOCUMENT_URI)


def _resource_uri(index: str, version: int, doc_id: str) -> str:
    """The document's resource URI (the doc id percent-encoded, its slashes kept)."""
    return _DOCUMENT_TEMPLATE.expand({"index": index, "version": str(version), "doc_id": doc_id})


def _tool_error(exc: Exception) -> ToolError:
    """A refused call as the tool error an assistant reads: the stable code and the message."""
    if isinstance(exc, RagError):
        return ToolError(f"{exc.code}: {exc.message}")
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "arguments"
        return ToolError(f"invalid_input: {where}: {first['msg']}")
    raise exc


class _PolicyServer(MCPServer[Any]):
    """``MCPServer`` whose resource listing is the caller's: the documents of each live version that
    the caller's groups may read (the SDK's static listing cannot depend on the caller)."""

    def __init__(self, services: Services, caller: Caller, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._services = services
        self._caller = caller

    async def _handle_list_resources(self, ctx: Any, params: PaginatedRequestParams | None) -> ListResourcesResult:
        principal = self._caller(Context(request_context=ctx, mcp_server=self))
        found = await anyio.to_thread.run_sync(_visible_documents, self._services, principal)
        return ListResourcesResult(resources=found)


def _visible_documents(services: Services, principal: Principal) -> list[Resource]:
    """The documents of every live version that ``principal`` may read, as resources."""
    default = services.settings.default_access_group
    groups = principal.visible_groups(default)
    out: list[Resource] = []
    for name in services.catalog.list_indexes():
        live = services.registry.live_version(name)
        info = services.catalog.get_version(name, live) if live is not None else None
        if info is None or info.manifest is None:
            continue
        for entry in info.manifest.documents:
            if entry_visible(entry, groups, default):
                out.append(
                    Resource(
                        uri=_resource_uri(name, info.version, entry.doc_id),
                        name=entry.doc_id,
                        title=f"{entry.title} ({name}@{info.version})",
                        mime_type="text/plain",
                    )
                )
    return out


def build_mcp_server(services: Services, caller: Caller) -> MCPServer[Any]:
    """The policy assistant's MCP server over ``services``; ``caller`` names who each call acts for."""
    settings = services.settings
    server = _PolicyServer(services, caller, name="policy-assistant", instructions=_INSTRUCTIONS)

    @server.tool(
        annotations=ToolAnnotations(title="Ask the policies", destructive_hint=False, open_world_hint=False),
        description="Answer an employee's question about company policies (leave, expenses, travel, working "
        "hours, IT equipment, security, conduct, ...) from the live policy documents, with numbered citations "
        "linking to the exact passages and the index version that answered. Use this first for any question "
        "about what the company's rules say; it refuses rather than guesses when the policies do not cover it.",
    )
    async def ask_policies(
        question: Annotated[str, Field(description="The question, in the employee's words.")],
        ctx: Context[Any, Any],
        index: Annotated[
            str | None,
            Field(description="'policies' (the live version, the default) or 'policies@3' (a pinned version)."),
        ] = None,
        as_of: Annotated[
            str | None,
            Field(
                description="Answer from the version that was live at this moment: an ISO date (end of that day, "
                "UTC) or date-time, e.g. '2026-03-01' for 'what did the policy say when I booked in March?'."
            ),
        ] = None,
    ) -> AskResult:
        principal = caller(ctx)
        try:
            request = AskRequest.model_validate({"question": question, "index": index, "as_of": as_of})
            record = await anyio.to_thread.run_sync(
                ask_as, services, principal, request.question, request.index, request.top_k, (), request.as_of
            )
        except (RagError, ValidationError) as exc:
            raise _tool_error(exc) from exc
        name, version = record.index.name, record.index.version
        return AskResult(
            answer=record.answer,
            citations=[
                Citation(
                    n=c.n,
                    title=c.title,
                    doc_id=c.doc_id,
                    heading_path=c.heading_path,
                    page=c.page,
                    quote=c.quote,
                    link=viewer_link(settings, name, version, c.doc_id, c.chunk_id),
                    resource=_resource_uri(name, version, c.doc_id),
                )
                for c in record.citations
            ],
            refused=record.refused,
            index=name,
            version=version,
            live_from=record.index.live_from,
            live_until=record.index.live_until,
            answer_id=record.answer_id,
        )

    @server.tool(
        annotations=ToolAnnotations(title="Search the policies", read_only_hint=True, open_world_hint=False),
        description="Search the company policy documents and return the most relevant passages verbatim, with "
        "their document titles, section headings and links. Use it to read what the policies say about a topic, "
        "or to check a detail, when you want the source text itself rather than a composed answer.",
    )
    async def search_policies(
        query: Annotated[str, Field(description="What to look for, in words or as a question.")],
        ctx: Context[Any, Any],
        index: Annotated[
            str | None, Field(description="'policies' (live, the default) or 'policies@3' (a pinned version).")
        ] = None,
        top_k: Annotated[
            int, Field(ge=1, le=MAX_SEARCH_RESULTS, description="How many passages to return (1-50).")
        ] = 5,
    ) -> SearchResult:
        principal = caller(ctx)
        try:
            found = await anyio.to_thread.run_sync(search_as, services, principal, query, index, top_k)
        except RagError as exc:
            raise _tool_error(exc) from exc
        return SearchResult(
            index=found.index,
            version=found.version,
            passages=[
                Passage(
                    rank=rank,
                    title=hit.chunk.title,
                    doc_id=hit.chunk.doc_id,
                    heading_path=hit.chunk.heading_path,
                    page=hit.chunk.page,
                    text=hit.chunk.text,
                    score=round(hit.similarity, 4),
                    link=viewer_link(settings, found.index, found.version, hit.chunk.doc_id, hit.chunk.chunk_id),
                    resource=_resource_uri(found.index, found.version, hit.chunk.doc_id),
                )
                for rank, hit in enumerate(found.hits, start=1)
            ],
        )

    @server.tool(
        annotations=ToolAnnotations(title="List the policy indexes", read_only_hint=True, open_world_hint=False),
        description="List the policy indexes the assistant can answer from, with each one's live version, its "
        "newest version and its canary. Use it to find an index name or a version number to pin "
        "('policies@3') for ask_policies or search_policies.",
    )
    async def list_indexes(ctx: Context[Any, Any]) -> list[IndexSummary]:
        caller(ctx)  # authenticated callers only, like GET /v1/indexes
        return await anyio.to_thread.run_sync(index_summaries, services)

    @server.resource(
        DOCUMENT_URI,
        name="policy-document",
        description="A policy document as one index version holds it (the text the answers cite).",
        mime_type="text/plain",
    )
    async def policy_document(index: str, version: str, doc_id: str, ctx: Context[Any, Any]) -> str:
        principal = caller(ctx)
        if not version.isdigit():
            raise ResourceError(f"invalid_input: version must be a number, not {version!r}")
        try:
            doc = await anyio.to_thread.run_sync(load_document, services, principal, index, int(version), doc_id)
        except RagError as exc:
            raise ResourceError(f"{exc.code}: {exc.message}") from exc
        heading = f"# {doc.title}\n({doc.index}@{doc.version}, {doc.source})\n\n"
        return heading + "\n\n".join(s.text for s in doc.segments)

    return server
