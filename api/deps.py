"""Request dependencies: the services the lifespan built and the app's metrics, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.metrics import Metrics
from rag.wiring import Services

__all__ = ["MetricsDep", "ServicesDep"]


def get_services(request: Request) -> Services:
    """The services owned by the app's lifespan."""
    services: Services = request.app.state.services
    return services


def get_metrics(request: Request) -> Metrics:
    """The app's metrics (made with the app, so available before the lifespan runs)."""
    metrics: Metrics = request.app.state.metrics
    return metrics


ServicesDep = Annotated[Services, Depends(get_services)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
