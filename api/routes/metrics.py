"""``GET /metrics``: the app's metrics in the Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import MetricsDep

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(metrics: MetricsDep) -> Response:
    """Request latency per route, retrieval and model latency, refusals, dropped citations,
    per-version query counts, build durations, chunks embedded vs reused, and job queue depth."""
    body = await run_in_threadpool(generate_latest, metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
