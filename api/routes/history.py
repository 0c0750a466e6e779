"""``GET /v1/indexes/{name}/history``: which version of an index was live when, and why.

One entry per switch of the live alias (promote, rollback), oldest first: the version, the span it
was live (``live_until`` null for the live one), the action, who made it (owners and admins only)
and, for a version retention has dropped, when. These are the spans an ``as_of`` question is
resolved against.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.auth import Employee
from api.deps import ServicesDep
from api.schemas import ErrorBody
from indexes.catalog import VersionState
from indexes.live_history import live_spans
from indexes.refs import check_index_name
from rag.access.history import visible_history
from rag.access.principal import Principal
from rag.errors import IndexNotFound
from rag.wiring import Services

__all__ = ["HistoryEntry", "router"]

router = APIRouter(prefix="/v1/indexes", tags=["indexes"])


class HistoryEntry(BaseModel):
    """One span of the live alias: ``version`` was live over ``[live_from, live_until)``."""

    version: int
    live_from: datetime
    live_until: datetime | None = Field(description="Null while the version is live.")
    action: str = Field(description="The switch that made it live: `promote` or `rollback`.")
    actor: str | None = Field(description="Who made the switch (owners and admins only; null where not recorded).")
    previous_version: int | None
    release: int | None = Field(None, description="The release the switch made live (null: recorded without one).")
    state: str | None = Field(description="The version's state now: `ready`, `dropped`, ...")
    dropped_at: datetime | None = Field(description="When retention dropped the version (its manifest stays).")


def _history(services: Services, principal: Principal, name: str) -> list[HistoryEntry]:
    check_index_name(name)
    catalog = services.catalog
    if not catalog.list_versions(name):
        raise IndexNotFound(f"unknown index {name!r}")
    spans = visible_history(live_spans(catalog.alias_history(name)), principal, name)
    states = {v.version: v.state for v in catalog.list_versions(name)}
    return [
        HistoryEntry(
            version=s.version,
            live_from=s.live_from,
            live_until=s.live_until,
            action=s.action,
            actor=s.actor,
            previous_version=s.previous_version,
            release=s.release,
            state=states.get(s.version),
            dropped_at=catalog.dropped_at(name, s.version) if states.get(s.version) == VersionState.DROPPED else None,
        )
        for s in spans
    ]


@router.get(
    "/{name}/history",
    response_model=list[HistoryEntry],
    responses={404: {"model": ErrorBody, "description": "Unknown index."}},
)
async def history(name: str, services: ServicesDep, principal: Employee) -> list[HistoryEntry]:
    """The live alias's history, oldest first (who switched it: for the index's owners and admins)."""
    return await run_in_threadpool(_history, services, principal, name)
