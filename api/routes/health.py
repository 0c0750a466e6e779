"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(services: ServicesDep) -> JSONResponse:
    """Ready when the metadata database answers and the default index has a live version."""
    index = services.settings.default_index
    checks: dict[str, str] = {}
    try:
        services.catalog.list_indexes()
        checks["metadata"] = "ok"
    except Exception as exc:  # readiness reports, it does not raise
        checks["metadata"] = f"error: {type(exc).__name__}"
    live = services.registry.live_version(index)
    checks["index"] = f"{index}@{live}" if live else f"{index}: no live version"
    ready = checks["metadata"] == "ok" and live is not None
    return JSONResponse(status_code=200 if ready else 503, content={"ready": ready, "checks": checks})
