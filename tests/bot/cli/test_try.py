"""`surveybot try`: a conversation in the terminal on each channel, stored as a test, left out."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli.main import app
from storage.models import Contact, Invitation, Message, Response
from storage.uow import UnitOfWork
from surveys.texts import builtin
from tests.bot.cli.cli_env import invoke, report
from tests.conftest import FakeClock, app_client, make_settings
from tests.standins.smtp_server import smtp_standin

runner = CliRunner()

SURVEYS = """\
surveys:
  - key: support-csat
    metric: csat
    question: "How satisfied are you with the support you received?"
    reasons: ["Slow reply", "Problem not solved"]
  - key: emoji-nps
    metric: nps
    question: "How likely are you to recommend us to a friend? 😀"
  - key: agent-csat
    metric: csat
    question: "How did {agent} do?"
  - key: wa-quick
    metric: csat
    scale: [1, 3]
    question: "Was it easy?"
    whatsapp:
      templates:
        en: {content_sid: HX0123456789abcdef0123456789abcdef, variables: {"1": "{agent}"}}
"""


@pytest.fixture
def surveys(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return _load(env, tmp_path)


def _load(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "surveys.yaml"
    path.write_text(SURVEYS, encoding="utf-8")
    code, _, err = invoke(env, "surveys", "load", str(path))
    assert code == 0, err
    return env


def try_(env: dict[str, str], stdin: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["try", *args], input=stdin, env=env)
    return result.exit_code, result.stdout, result.stderr


def test_sms_shows_the_texts_and_their_segments_and_stores_a_test(
    surveys: dict[str, str],
) -> None:
    code, out, err = try_(surveys, "4\nfast\n", "support-csat", "--channel", "sms")
    assert code == 0, err
    assert "How satisfied are you with the support you received?" in out
    assert "Reply with a number from 1 to 5." in out  # the hint a text-only channel adds
    assert "(SMS: 1 segment, GSM-7, 85 characters)" in out
    assert "customer: 4" in out and "customer: fast" in out  # piped replies are echoed
    assert builtin("follow_up.positive", "en") in out
    assert out.index("customer: 4") < out.index(builtin("follow_up.positive", "en"))
    assert out.index("customer: fast") < out.index(builtin("thank_you.positive", "en"))
    assert "Stored as a test" in out and "score 4, comment 'fast'" in out

    csat = report(surveys, "--survey", "support-csat")
    assert csat["responses"] == 0  # left out of the report
    assert csat["funnel"]["triggered"] == 0  # type: ignore[index]


def test_sms_counts_ucs2_segments_and_reprompts_through_the_engine(
    surveys: dict[str, str],
) -> None:
    code, out, err = try_(surveys, "hmm\n9 great\n", "emoji-nps", "--channel", "sms")
    assert code == 0, err
    # 😀 makes the whole text UCS-2: 84 UTF-16 units, more than the 70 of one segment.
    assert "(SMS: 2 segments, UCS-2, 83 characters)" in out
    assert builtin("reprompt.no_score", "en").split(".")[0] in out
    assert "The conversation has ended." in out and "score 9, comment 'great'" in out


def test_telegram_shows_its_buttons_and_a_reason_by_number(surveys: dict[str, str]) -> None:
    code, out, err = try_(surveys, "2\n1\nslow\n", "support-csat", "--channel", "telegram")
    assert code == 0, err
    assert "[1] [2] [3] [4] [5]" in out
    assert "Reply with a number" not in out  # buttons replace the typed-answer hint
    assert "[Slow reply]" in out and "[Problem not solved]" in out  # one reason per row
    assert "[Skip]" in out
    assert "score 2, reason 'Slow reply', comment 'slow'" in out


def test_whatsapp_shows_quick_replies_and_the_template_outside_the_window(
    surveys: dict[str, str],
) -> None:
    code, out, err = try_(
        surveys, "3\nskip\n", "wa-quick", "--channel", "whatsapp", "--property", "agent=Ana"
    )
    assert code == 0, err
    assert "Was it easy?" in out and "[1] [2] [3]" in out  # three buttons fit a quick reply
    assert (
        "(to a customer who has not written in 24 hours the approved template"
        " HX0123456789abcdef0123456789abcdef goes instead, with {{1}} = Ana)"
    ) in out
    assert "score 3" in out
    # Five points are typed; a survey without templates says what happens outside the window.
    code, out, err = try_(surveys, "4\nskip\n", "support-csat", "--channel", "whatsapp")
    assert code == 0, err
    assert "Reply with a number from 1 to 5." in out and "[1]" not in out
    assert (
        "(to a customer who has not written in 24 hours nothing can go: no WhatsApp template"
        " for locale en in survey support-csat"
    ) in out


def test_web_shows_the_chat_lines_buttons_and_link(surveys: dict[str, str]) -> None:
    code, out, err = try_(surveys, "5\nskip\n", "support-csat", "--channel", "web")
    assert code == 0, err
    assert "[1] [2] [3] [4] [5]" in out
    assert "(the chat page: http://127.0.0.1:8000/s/" in out
    assert "[Skip]" in out
    assert "The conversation has ended." in out and "score 5." in out


def test_email_shows_subject_and_text_part_and_sends_nothing(
    surveys: dict[str, str],
) -> None:
    with smtp_standin() as smtp:
        env = {
            **surveys,
            "SURVEYBOT_SMTP_HOST": "127.0.0.1",
            "SURVEYBOT_SMTP_PORT": str(smtp.port),
            "SURVEYBOT_SMTP_TLS": "none",
            "SURVEYBOT_SMTP_FROM": "surveys@example.com",
            "SURVEYBOT_BRAND_NAME": "Acme Support",
        }
        code, out, err = try_(env, "great\n5\nquick fix\n", "support-csat", "--channel", "email")
        assert code == 0, err
        assert smtp.messages == []  # no provider is called
    assert "Subject: How satisfied are you with the support you received?" in out
    assert "Click a number from 1 to 5 to answer." in out
    assert "5: http://127.0.0.1:8000/r/" in out and "?score=5" in out
    assert "Unsubscribe from these surveys: http://127.0.0.1:8000/u/" in out
    assert "Acme Support" in out  # the signature carries the brand
    # Only a click answers an email; it then goes on on the web chat page.
    assert "(an email is answered by clicking a number: type 1-5)" in out
    assert "(the rating link opens the web chat page, which goes on:)" in out
    assert "[Skip]" in out
    assert "score 5, comment 'quick fix'" in out


def test_stdin_closing_early_ends_it_and_stop_is_lifted_on_the_next_try(
    surveys: dict[str, str],
) -> None:
    code, out, err = try_(surveys, "", "support-csat", "--channel", "sms")
    assert code == 0, err
    assert "Input ended before the conversation did. No answer was stored." in out

    code, out, _ = try_(surveys, "STOP\n", "support-csat", "--channel", "sms")
    assert code == 0 and builtin("opted_out", "en").split(".")[0] in out
    assert "The conversation has ended. No answer was stored." in out
    code, out, _ = try_(surveys, "2\n", "support-csat", "--channel", "sms")
    assert code == 0 and builtin("reason.prompt", "en") in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--channel", "sms"], "survey 'nope' does not exist"),
        (
            ["support-csat", "--channel", "fax"],
            "unknown channel 'fax': use sms, whatsapp, telegram",
        ),
        (["support-csat", "--locale", "!!"], "--locale '!!' is not a language tag"),
        (["support-csat", "--property", "agent"], "--property 'agent' is not KEY=VALUE"),
        (["agent-csat"], "survey 'agent-csat' uses {agent}: give a value with --property agent="),
    ],
)
def test_bad_input_is_one_sentence_and_exit_1(
    surveys: dict[str, str], args: list[str], message: str
) -> None:
    code, out, err = try_(surveys, "4\n", *args)
    assert code == 1 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1
    database = surveys["SURVEYBOT_DATABASE_URL"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(database)) as db:  # nothing was stored
        assert db.execute("SELECT count(*) FROM contact").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM invitation").fetchone() == (0,)


def test_a_property_fills_the_question(surveys: dict[str, str]) -> None:
    code, out, err = try_(surveys, "", "agent-csat", "--property", "agent=Ana")
    assert code == 0, err
    assert "How did Ana do?" in out


async def test_the_test_is_stored_and_left_out_of_listings_scores_and_audiences(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    env = {"SURVEYBOT_DATABASE_URL": database_url}
    await asyncio.to_thread(_load, env, tmp_path)
    code, _, err = await asyncio.to_thread(
        try_, env, "2\n2\nslow\n", "support-csat", "--channel", "sms", "--property", "agent=Ana"
    )
    assert code == 0, err
    async with app_client(make_settings(database_url), clock) as (client, services):
        async with UnitOfWork(services.sessions) as uow:
            invitation = (await uow.session.execute(select(Invitation))).scalar_one()
            contact = await uow.contacts.get(invitation.contact_id)
            response = (await uow.session.execute(select(Response))).scalar_one()
            transcript = (await uow.session.execute(select(Message))).scalars().all()
            audience = await uow.campaign_runs.audience_page(0, 100)
            everyone = (await uow.session.execute(select(Contact))).scalars().all()
        assert invitation.test is True and invitation.status == "completed"
        assert (invitation.channel, invitation.properties) == ("sms", {"agent": "Ana"})
        assert invitation.remind_at is None  # nothing will ever remind the test contact
        assert contact is not None and contact.external_id == "try:sms"
        assert (contact.phone, contact.email, contact.telegram_chat_id) == (None, None, None)
        assert (response.score, response.reason, response.comment) == (
            2,
            "Problem not solved",
            "slow",
        )
        assert [m.direction for m in transcript] == ["out", "in", "out", "in", "out", "in", "out"]
        assert [c.external_id for c in everyone] == ["try:sms"]
        assert audience == []  # campaign audiences leave the test contact out

        listed = await client.get("/api/v1/responses", params={"survey": "support-csat"})
        assert listed.status_code == 200 and listed.json() == {"data": [], "count": 0}
        scores = await client.get("/api/v1/surveys/support-csat/scores")
        assert scores.status_code == 200 and scores.json()["responses"] == 0
