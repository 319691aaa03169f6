"""The web chat through the app: an answer shows in the responses and scores; tampered links."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlmodel import col

from bot.runtime.services import Services
from bot.wiring.web_chat import MAX_INBOUND
from storage.models import Message
from storage.uow import UnitOfWork

SURVEY = {"key": "support-csat", "metric": "csat", "question": "How did {agent} do?"}


async def test_web_chat_answer_shows_in_responses_and_scores(api: httpx.AsyncClient) -> None:
    await api.post("/api/v1/surveys", json=SURVEY)
    trig = (
        await api.post(
            "/api/v1/triggers",
            json={
                "survey": "support-csat",
                "contact": {"external_id": "c-5"},
                "properties": {"agent": "Ana"},
            },
        )
    ).json()
    token = trig["link"].rsplit("/", 1)[1]
    state = (await api.get(f"/s/{token}/state")).json()
    assert state["status"] == "active" and state["choices_kind"] == "scale"
    assert state["messages"][0]["text"].startswith("How did Ana do?")
    state = (
        await api.post(f"/s/{token}/messages", json={"text": "4", "client_message_id": "a"})
    ).json()
    assert state["choices_kind"] == "skip"
    state = (
        await api.post(f"/s/{token}/messages", json={"text": "Quick fix", "client_message_id": "b"})
    ).json()
    assert state["status"] == "done" and state["choices"] == []
    replay = await api.post(
        f"/s/{token}/messages", json={"text": "Quick fix", "client_message_id": "b"}
    )
    assert len(replay.json()["messages"]) == len(state["messages"])
    responses = (await api.get("/api/v1/responses", params={"survey": "support-csat"})).json()
    assert responses["count"] == 1
    empty_page = (
        await api.get("/api/v1/responses", params={"survey": "support-csat", "offset": 1})
    ).json()
    assert (empty_page["data"], empty_page["count"]) == ([], 1)
    row = responses["data"][0]
    assert (row["score"], row["comment"], row["contact"], row["properties"]) == (
        4,
        "Quick fix",
        "c-5",
        {"agent": "Ana"},
    )
    scores = (
        await api.get("/api/v1/surveys/support-csat/scores", params={"group_by": "agent"})
    ).json()
    assert (scores["responses"], scores["score"], scores["positive"], scores["small_sample"]) == (
        1,
        100.0,
        1,
        True,
    )
    assert scores["groups"][0]["group"] == {"agent": "Ana"}
    assert "promoters" not in scores and scores["period"] == {"from": None, "to": None}
    assert scores["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
    funnel = scores["funnel"]  # the page was opened in a browser (its script read the state)
    assert (funnel["triggered"], funnel["sent"], funnel["opened"], funnel["answered"]) == (
        1,
        1,
        1,
        1,
    )
    assert (funnel["completed"], funnel["response_rate"]) == (1, 1.0)


async def test_tampered_chat_link_is_refused(api: httpx.AsyncClient) -> None:
    reply = await api.get("/s/abc.def.ghi/state")
    assert reply.status_code == 404 and reply.json()["ui"]["link_invalid"]
    reply = await api.post("/s/abc.def.ghi/messages", json={"text": "5", "client_message_id": "x"})
    assert reply.status_code == 404


async def _finnish_chat(api: httpx.AsyncClient, external_id: str) -> str:
    """A chat token of a Finnish contact, the question answered with a 4 (the comment is next)."""
    await api.post("/api/v1/surveys", json={**SURVEY, "throttle_days": 0})
    trig = await api.post(
        "/api/v1/triggers",
        json={
            "survey": "support-csat",
            "contact": {"external_id": external_id, "locale": "fi"},
            "properties": {"agent": "Ana"},
        },
    )
    token: str = trig.json()["link"].rsplit("/", 1)[1]
    await api.get(f"/s/{token}/state")
    await api.post(f"/s/{token}/messages", json={"text": "4", "client_message_id": "a"})
    return token


async def test_the_skip_button_speaks_the_customers_language(api: httpx.AsyncClient) -> None:
    token = await _finnish_chat(api, "c-fi")
    state = (await api.get(f"/s/{token}/state")).json()
    assert state["choices_kind"] == "skip"
    assert state["choices"] == [{"label": "Ohita", "value": "Ohita"}]
    follow_up = state["messages"][-1]["text"]
    assert follow_up == "Kiva kuulla! Mitä teimme hyvin?"  # the button skips: no "vastaa OHITA"
    pressed = state["choices"][0]["value"]  # what chat.js posts for a pressed button
    done = (
        await api.post(f"/s/{token}/messages", json={"text": pressed, "client_message_id": "b"})
    ).json()
    assert done["status"] == "done"
    assert [m["text"] for m in done["messages"] if m["direction"] == "in"] == ["4", "Ohita"]
    responses = (await api.get("/api/v1/responses", params={"survey": "support-csat"})).json()
    assert (responses["data"][0]["score"], responses["data"][0]["comment"]) == (4, None)


async def test_opting_out_on_the_page_does_not_ask_to_reply_start(api: httpx.AsyncClient) -> None:
    token = await _finnish_chat(api, "c-stop")
    state = (
        await api.post(f"/s/{token}/messages", json={"text": "STOP", "client_message_id": "b"})
    ).json()
    assert state["messages"][-1]["text"] == "Et saa täällä enää kyselyitä."


async def _chat(api: httpx.AsyncClient, external_id: str = "c-7") -> str:
    await api.post("/api/v1/surveys", json={**SURVEY, "question": "How did we do?"})
    body = {"survey": "support-csat", "contact": {"external_id": external_id}}
    trig = (await api.post("/api/v1/triggers", json=body)).json()
    return str(trig["link"].rsplit("/", 1)[1])


async def _inbound(api: httpx.AsyncClient) -> int:
    services: Services = api.app_services  # type: ignore[attr-defined]
    async with UnitOfWork(services.sessions) as uow:
        stmt = select(func.count()).select_from(Message).where(col(Message.direction) == "in")
        return int((await uow.session.execute(stmt)).scalar_one())


async def test_a_reply_holds_only_the_messages_after_the_pages_last(api: httpx.AsyncClient) -> None:
    token = await _chat(api)
    first = (await api.get(f"/s/{token}/state")).json()
    [question] = first["messages"]
    last = int(question["id"])
    assert (await api.get(f"/s/{token}/state", params={"after": last})).json()["messages"] == []
    state = (
        await api.post(
            f"/s/{token}/messages", json={"text": "2", "client_message_id": "a", "after": last}
        )
    ).json()
    new = state["messages"]
    assert [m["direction"] for m in new] == ["in", "out"] and new[0]["text"] == "2"
    assert all(int(m["id"]) > last for m in new)
    # Without `after` (a page loaded afresh) the state holds the conversation so far.
    assert len((await api.get(f"/s/{token}/state")).json()["messages"]) == 3


async def test_after_the_end_a_message_is_refused_with_the_closed_state(
    api: httpx.AsyncClient,
) -> None:
    token = await _chat(api)
    await api.get(f"/s/{token}/state")
    for text, client_id in (("5", "a"), ("Great", "b")):
        reply = await api.post(
            f"/s/{token}/messages", json={"text": text, "client_message_id": client_id}
        )
        assert reply.status_code == 200
    assert reply.json()["status"] == "done"
    stored = await _inbound(api)
    for attempt in range(3):
        late = await api.post(
            f"/s/{token}/messages", json={"text": "hello?", "client_message_id": f"late-{attempt}"}
        )
        assert late.status_code == 409
        body = late.json()
        assert body["detail"] == "this conversation has ended: it takes no more messages"
        assert (body["status"], body["open"], body["field"]) == ("done", False, "text")
        assert body["ui"]["ended"] and body["messages"][-1]["direction"] == "out"
    assert await _inbound(api) == stored  # nothing was stored


async def test_a_conversation_takes_at_most_fifty_messages(api: httpx.AsyncClient) -> None:
    token = await _chat(api)
    await api.get(f"/s/{token}/state")
    for n in range(MAX_INBOUND):  # HELP answers and changes nothing, so the survey stays open
        reply = await api.post(
            f"/s/{token}/messages", json={"text": "help", "client_message_id": f"h{n}"}
        )
        assert reply.status_code == 200, n
    assert reply.json()["status"] == "done"
    refused = await api.post(f"/s/{token}/messages", json={"text": "5", "client_message_id": "z"})
    assert refused.status_code == 409 and refused.json()["status"] == "done"
    assert await _inbound(api) == MAX_INBOUND
