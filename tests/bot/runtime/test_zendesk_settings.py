"""The Zendesk write-back's settings: all three or none, each checked, refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from bot.cli.main import app
from bot.runtime.settings import Settings

WHOLE = {
    "zendesk_api_base": "https://acme.zendesk.com/",
    "zendesk_email": "agent@example.com",
    "zendesk_api_token": "token-0123456789",
}


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_all_three_switch_it_on_and_none_leaves_it_off() -> None:
    on = settings(**WHOLE)
    assert on.zendesk_api_base == "https://acme.zendesk.com"
    assert on.zendesk_email == "agent@example.com"
    assert on.zendesk_api_token is not None
    assert on.zendesk_api_token.get_secret_value() == "token-0123456789"
    assert "token-0123456789" not in repr(on)
    off = settings(zendesk_api_base=" ", zendesk_email="", zendesk_api_token="")
    assert (off.zendesk_api_base, off.zendesk_email, off.zendesk_api_token) == (None, None, None)


@pytest.mark.parametrize(
    ("left_out", "named"),
    [
        (("zendesk_api_token",), "SURVEYBOT_ZENDESK_API_TOKEN is not set"),
        (("zendesk_email",), "SURVEYBOT_ZENDESK_EMAIL is not set"),
        (
            ("zendesk_api_base", "zendesk_email"),
            "SURVEYBOT_ZENDESK_API_BASE and SURVEYBOT_ZENDESK_EMAIL are not set",
        ),
    ],
)
def test_a_half_given_set_is_refused_naming_what_is_missing(
    left_out: tuple[str, ...], named: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(**{k: v for k, v in WHOLE.items() if k not in left_out})
    (error,) = caught.value.errors()
    assert named in error["msg"] and "set them all, or none" in error["msg"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("zendesk_api_base", "acme.zendesk.com"),
        ("zendesk_api_base", "https://acme.zendesk.com/api/v2"),
        ("zendesk_api_base", "https://me:pw@acme.zendesk.com"),
        ("zendesk_email", "agent at example.com"),
        ("zendesk_email", "agent@"),
    ],
)
def test_a_bad_value_is_refused_naming_its_setting(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(**{**WHOLE, field: value})
    (error,) = caught.value.errors()
    assert error["loc"] == (field,)


def test_every_command_stops_in_one_line_on_a_half_given_set(tmp_path: Path) -> None:
    env = {
        "SURVEYBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "SURVEYBOT_ZENDESK_API_BASE": "https://acme.zendesk.com",
        "SURVEYBOT_ZENDESK_API_TOKEN": "token-0123456789",
    }
    for command in (["report", "--survey", "support-csat"], ["webhooks", "list"]):
        result = CliRunner().invoke(app, command, env=env)
        assert result.exit_code == 1, result.stdout
        line = result.stderr.strip()
        assert line.startswith("error: ") and "\n" not in line
        assert "SURVEYBOT_ZENDESK_EMAIL is not set" in line
