"""The invitations API: one invitation read with its state and timeline; unknown ids named."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from bot.runtime.services import Services
from tests.conftest import FakeClock
from tests.support import add_survey, deliver, fire, say


async def test_an_answered_invitation_reads_with_its_timeline(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, question="How did {agent} do?", reasons=["Slow reply"])
    fired = await fire(services, contact={"external_id": "cust-7"}, properties={"agent": "Ana"})
    invitation_id = fired.invitation.id
    scheduled = (await api.get(f"/api/v1/invitations/{invitation_id}")).json()
    assert (scheduled["status"], scheduled["attempts"], scheduled["sent_at"]) == (
        "scheduled", 0, None,
    )  # fmt: skip
    assert [e["event"] for e in scheduled["timeline"]] == ["created"]

    await deliver(services)
    clock.advance(minutes=1)
    await say(services, invitation_id, "2")
    clock.advance(minutes=1)
    await say(services, invitation_id, "Slow reply")
    clock.advance(minutes=1)
    await say(services, invitation_id, "It took <b>[bold]three[/bold]</b> days")

    reply = await api.get(f"/api/v1/invitations/{invitation_id}")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["survey"], body["contact"], body["channel"]) == ("support-csat", "cust-7", "web")
    assert (body["status"], body["step"], body["attempts"]) == ("completed", "done", 1)
    assert body["last_error"] is None and body["campaign"] is None
    assert body["properties"] == {"agent": "Ana"}
    events = [(e["event"], e["text"]) for e in body["timeline"]]
    assert events[0][0] == "created" and "web" in events[0][1]
    assert events[1][0] == "sent" and events[1][1].startswith("How did Ana do?")
    received = [text for event, text in events if event == "received"]
    assert received == ["2", "Slow reply", "It took <b>[bold]three[/bold]</b> days"]
    assert [event for event, _ in events].count("replied") == 3  # reasons, comment, thanks
    # The response as it stands, listed when its score came.
    answered = events.index(("received", "2")) + 1
    assert events[answered] == (
        "answered",
        "score 2; reason: Slow reply; comment: It took <b>[bold]three[/bold]</b> days",
    )
    assert events[-1][0] == "replied"  # the thank-you
    times = [e["at"] for e in body["timeline"]]
    assert times == sorted(times)


async def test_skipped_and_cancelled_invitations_say_why(api: httpx.AsyncClient) -> None:
    services: Services = api.app_services  # type: ignore[attr-defined]
    await add_survey(services, throttle_days=30)
    first = await fire(services)
    throttled = await fire(services, properties={"again": True})
    assert throttled.invitation.status == "skipped"
    body = (await api.get(f"/api/v1/invitations/{throttled.invitation.id}")).json()
    assert body["send_at"] is None and body["skip_reason"] == "throttled"
    assert [(e["event"], e["text"]) for e in body["timeline"]][1] == ("skipped", "throttled")

    assert (await api.delete(f"/api/v1/invitations/{first.invitation.id}")).status_code == 200
    body = (await api.get(f"/api/v1/invitations/{first.invitation.id}")).json()
    assert body["status"] == "cancelled"
    assert body["timeline"][-1]["event"] == "ended"
    assert body["timeline"][-1]["text"] == "cancelled"


async def test_unknown_invitation_is_404_naming_the_id(api: httpx.AsyncClient) -> None:
    for invitation_id in ("0" * 32, "nope", "x" * 500):
        reply = await api.get(f"/api/v1/invitations/{quote(invitation_id)}")
        assert reply.status_code == 404, reply.text
        assert reply.json()["field"] == "invitation_id"
        assert "does not exist" in reply.json()["detail"]
