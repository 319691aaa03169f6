"""The application factory: lifespan wiring, routers, and error responses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline

from bot.http import (
    alerts,
    apikeys,
    campaigns,
    contacts,
    dashboard,
    digests,
    errors,
    invitations,
    methods,
    openapi,
    privacy,
    responses,
    scores,
    subscriptions,
    surveys,
    themes,
    triggers,
    webhooks,
)
from bot.http.context import PhoneRegion
from bot.http.limits import BodyLimit, UrlCheck
from bot.runtime.services import utc_now
from bot.runtime.settings import Settings
from bot.startup.background import start_background
from bot.startup.bootstrap import build_services
from bot.wiring import registry
from channels.base import Channel


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    channels: dict[str, Channel] | None = None,
    run_background: bool = True,
) -> FastAPI:
    """Build the app; services (database, channels, outbox) start in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(settings, clock=clock, channels=channels)
        app.state.services = services
        await services.start_channels()
        if run_background:
            await start_background(services)
        try:
            yield
        finally:
            await services.close()

    # The docs page's scripts and styles are served from the installed package, not a CDN.
    # No ReDoc page: its bundle still fetches its logo from redoc.ly.
    app = FastAPIOffline(
        redoc_url=None,
        title="surveybot",
        version="0.1.0",
        summary="CSAT, NPS and CES surveys over chat, SMS, email and the web, with honest scores.",
        lifespan=lifespan,
    )
    resources = (
        surveys,
        contacts,
        privacy,
        triggers,
        invitations,
        responses,
        scores,
        themes,
        campaigns,
    )
    for module in (*resources, subscriptions, alerts, digests, apikeys, webhooks):
        app.include_router(module.router)
    app.include_router(dashboard.router)
    for wiring in registry.WIRINGS:
        app.include_router(wiring.router())

    errors.install(app)
    methods.install(app)
    openapi.install(app)
    # Added innermost first: the last one added sees the request first.
    if settings.default_phone_region:
        app.add_middleware(PhoneRegion, region=settings.default_phone_region)
    app.add_middleware(UrlCheck)
    app.add_middleware(BodyLimit)
    app.add_middleware(errors.InternalErrors)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def app_from_environment() -> FastAPI:
    """The app as `surveybot serve` runs it in each worker process (settings from the env)."""
    return create_app(Settings())
