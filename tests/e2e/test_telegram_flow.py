"""End to end on Telegram: `surveybot serve` with aiogram's real session against the Bot API stand-in."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.e2e.conftest import Server, running_server
from tests.standins.telegram_api import BotApiStandIn, press_update, text_update

SECRET = "s3cret-token-0123456789"
CHAT = 5150
SURVEYS = """\
surveys:
  - key: relationship-nps
    metric: nps
    labels: {low: "Not likely", high: "Very likely"}
    quiet_hours: {}  # the test runs at any hour of the real clock
"""
_ids = itertools.count(1)

Deliver = Callable[[dict[str, Any]], None]


@pytest.fixture
def bot_api() -> Iterator[BotApiStandIn]:
    with BotApiStandIn().in_thread() as api:
        yield api


def env_for(api: BotApiStandIn, **extra: str) -> dict[str, str]:
    return {
        "SURVEYBOT_TELEGRAM_BOT_TOKEN": "123456:TEST",
        "SURVEYBOT_TELEGRAM_API_BASE": api.url,
        "SURVEYBOT_SECRET_KEY": "e2e-secret-key-0123456789",
        **extra,
    }


def survey_conversation(server: Server, api: BotApiStandIn, key: str, deliver: Deliver) -> None:
    """Link a chat with the deep link, trigger, press 9, comment; check what was stored."""
    auth = {"Authorization": f"Bearer {key}"}
    contact = {"external_id": "cust-7", "locale": "en"}
    assert httpx.post(f"{server.url}/api/v1/contacts", json=contact, headers=auth).is_success
    reply = httpx.get(f"{server.url}/api/v1/contacts/cust-7/telegram-link", headers=auth)
    assert reply.status_code == 200, reply.text
    payload = parse_qs(urlsplit(reply.json()["link"]).query)["start"][0]

    deliver(text_update(next(_ids), CHAT, f"/start {payload}"))
    (linked,) = api.wait_for("sendMessage", 1)
    assert "now connected" in linked.fields["text"]

    body = {
        "survey": "relationship-nps",
        "channel": "telegram",
        "contact": {"external_id": "cust-7"},
    }
    reply = httpx.post(f"{server.url}/api/v1/triggers", json=body, headers=auth)
    assert reply.status_code == 202 and reply.json()["status"] == "scheduled", reply.text
    question = api.wait_for("sendMessage", 2)[-1]
    assert question.fields["chat_id"] == str(CHAT)
    assert question.fields["text"].endswith("0 = Not likely … 10 = Very likely")
    assert [len(row) for row in question.buttons] == [6, 5]

    deliver(press_update(next(_ids), question, "9"))
    follow_up = api.wait_for("sendMessage", 3)[-1]
    assert follow_up.fields["text"].startswith("Great to hear!")
    api.wait_for("answerCallbackQuery")
    (edit,) = api.wait_for("editMessageReplyMarkup")
    assert ("✓ 9", question.data_for("9")) in edit.buttons[1]

    deliver(text_update(next(_ids), CHAT, "Quick and friendly"))
    thanks = api.wait_for("sendMessage", 4)[-1]
    assert thanks.fields["text"] == "Thank you! We really appreciate your support."

    stored = httpx.get(
        f"{server.url}/api/v1/responses", params={"survey": "relationship-nps"}, headers=auth
    ).json()
    assert stored["count"] == 1
    (answer,) = stored["data"]
    assert (answer["contact"], answer["channel"], answer["score"], answer["comment"]) == (
        "cust-7",
        "telegram",
        9,
        "Quick and friendly",
    )


@pytest.mark.e2e
def test_telegram_survey_over_the_webhook(bot_api: BotApiStandIn, tmp_path: Path) -> None:
    with running_server(
        tmp_path, env_for(bot_api, SURVEYBOT_TELEGRAM_WEBHOOK_SECRET=SECRET)
    ) as server:
        (hook,) = bot_api.wait_for("setWebhook")
        assert hook.fields["url"] == f"{server.url}/webhooks/telegram"
        assert hook.fields["secret_token"] == SECRET
        key = server.load_and_key(SURVEYS, tmp_path)

        def post(update: dict[str, Any]) -> None:
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            reply = httpx.post(f"{server.url}/webhooks/telegram", json=update, headers=headers)
            assert reply.status_code == 200, reply.text

        forged = httpx.post(
            f"{server.url}/webhooks/telegram",
            json=text_update(next(_ids), CHAT, "/stop"),
            headers={"X-Telegram-Bot-Api-Secret-Token": "guess"},
        )
        assert forged.status_code == 403
        survey_conversation(server, bot_api, key, post)
        assert not bot_api.calls("getUpdates")


@pytest.mark.e2e
def test_telegram_updates_over_long_polling(bot_api: BotApiStandIn, tmp_path: Path) -> None:
    # The whole conversation is proven over the webhook above; here the process polls instead.
    with running_server(tmp_path, env_for(bot_api)) as server:
        bot_api.wait_for("deleteWebhook")
        update_id = next(_ids)
        bot_api.queue_update(text_update(update_id, CHAT, "/start"))
        (hello,) = bot_api.wait_for("sendMessage")
        assert hello.fields["chat_id"] == str(CHAT) and "open the link" in hello.fields["text"]
        deadline = time.monotonic() + 10
        while not any(  # the next poll confirms the update, so Telegram would forget it
            c.fields.get("offset") == str(update_id + 1) for c in bot_api.calls("getUpdates")
        ):
            assert time.monotonic() < deadline, "the handled update was never confirmed"
            time.sleep(0.05)
        assert not bot_api.calls("setWebhook")
        refused = httpx.post(
            f"{server.url}/webhooks/telegram", json=text_update(next(_ids), CHAT, "5")
        )
        assert refused.status_code == 404  # no secret: no webhook to forge updates through
