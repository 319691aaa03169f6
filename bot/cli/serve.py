"""`surveybot serve` and `surveybot worker`: the HTTP app with everything, or the sending alone."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import fail, load_settings, out, run

if TYPE_CHECKING:
    from bot.runtime.settings import Settings


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [default: 127.0.0.1]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: 8000]")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Worker processes sharing the port [default: 1]"),
    ] = None,
) -> None:
    """Run migrations, then the HTTP app, the outbox sender and every configured channel."""
    import os

    import uvicorn

    from bot.runtime.database import open_database

    settings = load_settings(host=host, port=port, workers=workers)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )

    async def migrate() -> None:
        engine, sessions = await open_database(settings)
        try:
            if settings.surveys_file is not None:
                # Checked here, once, so that a refused survey is one line, not a traceback
                # from every worker's start-up.
                from bot.runtime.survey_files import load_surveys, read_survey_file
                from bot.wiring import registry

                surveys = read_survey_file(settings.surveys_file)
                await load_surveys(
                    sessions, surveys, channels=registry.infos(), source=settings.surveys_file
                )
        finally:
            await engine.dispose()

    from bot.runtime.survey_files import SurveyFileError

    try:
        run(migrate())
    except SurveyFileError as exc:
        fail(f"SURVEYBOT_SURVEYS_FILE: {' '.join(str(exc).split())}")
    # Worker processes read their settings from the environment: pass the options on.
    os.environ["SURVEYBOT_HOST"] = settings.host
    os.environ["SURVEYBOT_PORT"] = str(settings.port)
    from bot.wiring import registry

    channels_on = [wiring.name for wiring in registry.configured(settings)]
    out.print(
        f"surveybot on http://{settings.host}:{settings.port} "
        f"(database {_masked_url(settings.database_url)}; links to {settings.base_url()}; "
        f"{settings.workers} worker{'s' if settings.workers > 1 else ''}); "
        f"channels on: {', '.join(channels_on)}; receivers on: {receivers_on(settings)}",
        soft_wrap=True,
    )
    uvicorn.run(
        "bot.http.app:app_from_environment",
        factory=True,
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        lifespan="on",
    )


def worker() -> None:
    """Run the outbox sender and the campaign scheduler without the HTTP app (for scale-out)."""
    from bot.runtime.services import Services
    from bot.startup.worker import run_worker

    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )

    def ready(services: Services) -> None:
        out.print(
            f"surveybot worker (database {_masked_url(settings.database_url)}); "
            f"channels on: {', '.join(sorted(services.channels_on))}",
            soft_wrap=True,
        )

    run(run_worker(settings, ready=ready))


def receivers_on(settings: Settings) -> str:
    """The help-desk webhooks that take triggers here, or `none`."""
    receivers = [f"/webhooks/events/{source}" for source in sorted(settings.webhook_secrets)]
    if settings.zendesk_webhook_secret is not None:
        receivers.append(f"/webhooks/zendesk (survey {settings.helpdesk_survey})")
    return ", ".join(receivers) or "none"


def _masked_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
