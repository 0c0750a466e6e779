"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from rag.registry import live_indexes

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(services: ServicesDep) -> JSONResponse:
    """Ready when the metadata database answers and some index has a live version.

    ``checks.index`` says whether the default index is live; ``checks.live`` names every live index.
    """
    index = services.settings.default_index
    checks: dict[str, str] = {}
    try:
        services.catalog.list_indexes()
        checks["metadata"] = "ok"
    except Exception as exc:  # readiness reports, it does not raise
        checks["metadata"] = f"error: {type(exc).__name__}"
    live = services.registry.live_version(index)
    checks["index"] = f"{index}@{live}" if live else f"{index}: no live version"
    serving: dict[str, int] = {}
    if checks["metadata"] == "ok":
        serving = live_indexes(services.catalog, services.registry)
    checks["live"] = ", ".join(f"{name}@{version}" for name, version in serving.items()) or "none"
    ready = checks["metadata"] == "ok" and bool(serving)
    return JSONResponse(status_code=200 if ready else 503, content={"ready": ready, "checks": checks})
