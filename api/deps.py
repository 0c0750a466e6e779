"""Request dependencies: the services the lifespan built, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rag.wiring import Services

__all__ = ["ServicesDep"]


def get_services(request: Request) -> Services:
    """The services owned by the app's lifespan."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
