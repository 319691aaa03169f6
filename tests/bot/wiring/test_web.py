"""The web chat through the app: an answer shows in the responses and scores; tampered links."""

from __future__ import annotations

import httpx

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
