"""`surveybot invitations show`: an invitation's state and timeline, user data printed as text."""

from __future__ import annotations

import asyncio
import json

from tests.bot.cli.cli_env import invoke
from tests.conftest import FakeClock, services_with
from tests.support import deliver, fire, say

COMMENT = "[bold]late[/bold] and [link=https://evil.example]click[/link]"


async def _answered(env: dict[str, str]) -> str:
    """One web invitation of support-csat, sent and answered with a markup-like comment."""
    url = env["SURVEYBOT_DATABASE_URL"].replace("sqlite://", "sqlite+aiosqlite://", 1)
    services = await services_with(url, FakeClock())
    try:
        fired = await fire(services, contact={"external_id": "[red]cust[/red]"})
        await deliver(services)
        await say(services, fired.invitation.id, "2")
        await say(services, fired.invitation.id, COMMENT)
        return fired.invitation.id
    finally:
        await services.close()


def test_show_prints_the_timeline_as_text(loaded: dict[str, str]) -> None:
    invitation_id = asyncio.run(_answered(loaded))
    code, out, err = invoke(loaded, "invitations", "show", invitation_id)
    assert code == 0, err
    assert f"invitation {invitation_id}" in out
    assert "[red]cust[/red]" in out  # the contact's id as given, not read as markup
    assert "support-csat" in out and "web" in out
    assert "attempts    1" in out
    for event in ("created", "sent", "received", "answered", "replied"):
        assert event in out
    assert "[bold]late[/bold]" in out.replace("\n", "")  # printed, not turned into bold
    assert "\x1b]8;" not in out  # no hyperlink planted

    code, out, err = invoke(loaded, "invitations", "show", invitation_id, "--json")
    assert code == 0, err
    body = json.loads(out)
    assert body["id"] == invitation_id and body["contact"] == "[red]cust[/red]"
    assert body["status"] == "completed" and body["step"] == "done"
    assert any(e["event"] == "answered" and COMMENT in e["text"] for e in body["timeline"])


def test_show_refuses_an_unknown_id(loaded: dict[str, str]) -> None:
    code, out, err = invoke(loaded, "invitations", "show", "[bold]nope")
    assert code == 1 and out == ""
    assert "invitation '[bold]nope' does not exist" in err


async def _fell_back(env: dict[str, str]) -> str:
    """An invitation whose Telegram send was refused, then shown behind its web chat link."""
    from channels.base import PermanentSendError
    from tests.support import ScriptedChannel

    url = env["SURVEYBOT_DATABASE_URL"].replace("sqlite://", "sqlite+aiosqlite://", 1)
    blocked = PermanentSendError("Telegram: Forbidden: bot was blocked by the user", code="403")
    services = await services_with(url, FakeClock(), {"telegram": ScriptedChannel(blocked)})
    try:
        contact = {"external_id": "cust-9", "telegram_chat_id": "5150"}
        fired = await fire(services, channel=None, channels=["telegram", "web"], contact=contact)
        await deliver(services)
        await deliver(services)
        return fired.invitation.id
    finally:
        await services.close()


def test_show_names_the_fallback_order_and_the_failed_channel(loaded: dict[str, str]) -> None:
    invitation_id = asyncio.run(_fell_back(loaded))
    code, out, err = invoke(loaded, "invitations", "show", invitation_id)
    assert code == 0, err
    assert "channel     web (fallback order telegram, web)" in out
    # The table wraps at 80 columns: each piece is on a line of its own cell.
    for piece in ("channel_failed", "(telegram)", "refused (403):", "sent (web)"):
        assert piece in out
