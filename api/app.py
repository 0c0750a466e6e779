"""The FastAPI application: routes under /v1, OpenAPI at /docs, services owned by the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from starlette.routing import Route

from api.auth import KeyRateLimiter
from api.errors import install_error_handlers
from api.input_guard import ControlCharacterGuard
from api.mcp.http import MCP_PATH, McpEndpoint, mcp_lifespan
from api.metrics import BuildCollector, CanaryWatchCollector, Metrics
from api.middleware import RequestContextMiddleware
from api.routes import (
    access,
    answer_diff,
    ask,
    canary_analysis,
    changes,
    chat,
    document_text,
    documents,
    feedback,
    health,
    history,
    indexes,
    jobs,
    lifecycle,
    metrics,
    receipts,
    releases,
    sign_in,
    slack,
    sources,
    web,
)
from api.schemas import AUTH_ERRORS
from api.slack.service import build_slack
from api.storage_errors import install_storage_error_handlers
from ingest.jobs.recovery import recover
from rag.settings import Settings
from rag.wiring import Services, build_services

__all__ = ["create_app"]


def create_app(
    settings: Settings | None = None,
    *,
    services_factory: Callable[[Settings], Services] | None = None,
) -> FastAPI:
    """A new app; settings are read and services built when the lifespan starts, not at import."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings or Settings()
        services = (services_factory or build_services)(resolved)
        app.state.services = services
        collector = BuildCollector(services)
        app.state.metrics.registry.register(collector)
        app.state.metrics.registry.register(CanaryWatchCollector(services))
        app.state.rate_limiter = (
            KeyRateLimiter(resolved.rate_limit, resolved.rate_limit_storage) if resolved.rate_limit else None
        )
        if resolved.worker_enabled and services.jobs is not None:
            recover(
                services.jobs.store,
                services.jobs.queue,
                services.catalog,
                services.engine,
                timedelta(seconds=resolved.job_stale_after_s),
            )
            services.jobs.start_worker(resolved.worker_threads)
        if resolved.canary_analysis:
            services.canary.start()
        app.state.slack = build_slack(services)
        try:
            async with mcp_lifespan(app, services):
                yield
        finally:
            app.state.slack.close()
            app.state.metrics.registry.unregister(collector)
            services.close()

    app = FastAPI(
        title="Policy assistant",
        version="0.1.0",
        description="Answers questions about company policies with citations, from versioned indexes.",
        lifespan=lifespan,
    )
    app.state.metrics = Metrics()
    app.add_middleware(ControlCharacterGuard)  # inside the request context: refusals are logged too
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    install_error_handlers(app)
    install_storage_error_handlers(app)
    app.include_router(health.router)
    # Every /v1 route requires an API key (api/auth.py); their 401/403/429 answers are documented here.
    for router in (
        access.router,
        ask.router,
        indexes.router,
        lifecycle.router,
        releases.router,
        canary_analysis.router,
        documents.router,
        sources.router,
        jobs.router,
        feedback.router,
        document_text.router,
        chat.router,
        history.router,
        receipts.router,
        changes.router,
        answer_diff.router,
    ):
        app.include_router(router, responses=AUTH_ERRORS)
    # The pages and their static files are public (they hold no data; the API calls they make need a
    # key), and so is /metrics, for Prometheus on the internal network.
    app.include_router(sign_in.router)  # public: it is how a person gets a session
    app.include_router(sources.hooks_router)  # authenticated by the push's signature, not by a key
    app.include_router(slack.router)  # authenticated by Slack's signature, not by a key
    app.include_router(metrics.router)
    # The MCP server: authenticated like /v1 (api/mcp/http.py), by the caller's bearer credentials. Stateless:
    # no session to end (DELETE) and no server-initiated stream (GET), so both are 405 as the protocol allows.
    app.router.routes.append(Route(MCP_PATH, McpEndpoint(), methods=["POST"]))
    app.include_router(web.router)
    app.mount("/static", web.static_files(), name="static")
    return app
