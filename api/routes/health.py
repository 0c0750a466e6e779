"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from indexes.disk_space import FreeSpace
from rag.errors import RagError

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(services: ServicesDep) -> JSONResponse:
    """Ready when the metadata database answers, the data folder can be written and has the free
    space needed, and the default index's live version answers a search (probed, cached ~15 s)."""
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
    live: int | None = None
    try:
        live = services.registry.check_live(index)
        checks["index"] = f"{index}@{live}" if live else f"{index}: no live version"
    except RagError as exc:
        checks["index"] = f"error: {exc.code}: {exc.message}"
    ready = checks["metadata"] == "ok" and checks["storage"] == "ok" and live is not None
    return JSONResponse(status_code=200 if ready else 503, content={"ready": ready, "checks": checks})
