"""Alerts plugged into a running service, and the settings they read (one line per bad one)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from bot.cli.main import app
from bot.events.alerts import AlertRules, AlertSender
from bot.events.posting import WebhookSender
from bot.runtime.settings import Settings
from bot.startup.background import start_events
from tests.conftest import FakeClock, services_with

MAIL = {"smtp_host": "127.0.0.1", "smtp_port": 2525, "smtp_tls": "none", "smtp_from": "s@x.test"}


async def test_the_events_pipeline_carries_alerts_health_and_digests(
    database_url: str, clock: FakeClock
) -> None:
    services = await services_with(database_url, clock, **MAIL, operator_email="ops@example.com")
    try:
        router, deliverer = start_events(services)
        assert any(isinstance(c, AlertRules) for c in router.consumers)
        assert isinstance(deliverer.senders["alert"], AlertSender)
        webhooks = deliverer.senders["webhook"]
        assert isinstance(webhooks, WebhookSender) and webhooks.on_disabled is not None
        names = {task.get_name() for task in services.tasks}
        assert {"health", "digests", "event-router", "event-deliverer"} <= names
        await asyncio.sleep(0)  # the jobs start (and take their leases) without failing
        assert not any(t.done() for t in services.tasks)
    finally:
        await services.close()


async def test_without_smtp_no_digest_job_runs(sqlite_url: str, clock: FakeClock) -> None:
    services = await services_with(sqlite_url, clock)
    try:
        start_events(services)
        names = {task.get_name() for task in services.tasks}
        assert "health" in names and "digests" not in names
    finally:
        await services.close()


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_the_operator_address_is_checked_and_needs_smtp() -> None:
    assert settings(**MAIL, operator_email=" Ops@Example.com ").operator_email == "Ops@example.com"
    assert settings(operator_email="  ").operator_email is None
    with pytest.raises(ValidationError) as caught:
        settings(**MAIL, operator_email="ops")
    assert caught.value.errors()[0]["loc"] == ("operator_email",)
    with pytest.raises(ValidationError) as caught:
        settings(operator_email="ops@example.com")
    assert "SURVEYBOT_SMTP_HOST and SURVEYBOT_SMTP_FROM are not set" in str(caught.value)
    with pytest.raises(ValidationError):
        settings(health_silent_hours=0)


def test_every_command_stops_in_one_line_on_an_operator_address_without_smtp(
    tmp_path: Path,
) -> None:
    env = {
        "SURVEYBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "SURVEYBOT_OPERATOR_EMAIL": "ops@example.com",
    }
    result = CliRunner().invoke(app, ["alerts", "list"], env=env)
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line.startswith("error: invalid settings: ") and "\n" not in line
    assert "SURVEYBOT_OPERATOR_EMAIL" in line
