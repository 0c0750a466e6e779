"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from indexes.disk_space import FreeSpace
from rag.errors import RagError
from rag.registry import live_indexes

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(services: ServicesDep) -> JSONResponse:
    """Ready when the metadata database answers, the data folder can be written and has the free
    space needed, some index has a live version, and the default index's live version (if any)
    answers a search (probed, cached ~15 s).

    ``checks.index`` says how the default index stands; ``checks.live`` names every live index.
    """
    settings = services.settings
    index = settings.default_index
    checks: dict[str, str] = {}
    try:
        services.catalog.list_indexes()
        checks["metadata"] = "ok"
    except Exception as exc:  # readiness reports, it does not raise
        checks["metadata"] = f"error: {type(exc).__name__}"
    problem = FreeSpace(settings.data_dir, settings.min_free_bytes).problem()
    checks["storage"] = f"error: {problem}" if problem else "ok"
    damaged = False
    try:
        live = services.registry.check_live(index)
        checks["index"] = f"{index}@{live}" if live else f"{index}: no live version"
    except RagError as exc:
        checks["index"] = f"error: {exc.code}: {exc.message}"
        damaged = True
    serving: dict[str, int] = {}
    if checks["metadata"] == "ok":
        serving = live_indexes(services.catalog, services.registry)
    checks["live"] = ", ".join(f"{name}@{version}" for name, version in serving.items()) or "none"
    ready = checks["metadata"] == "ok" and checks["storage"] == "ok" and bool(serving) and not damaged
    return JSONResponse(status_code=200 if ready else 503, content={"ready": ready, "checks": checks})
