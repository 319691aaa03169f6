"""Email surveys through the app: the message, rating links and pages, unsubscribing, refusals."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from bot.runtime.services import Services
from bot.wiring.email_links import RATE_SALT, UNSUBSCRIBE_MAX_AGE, UNSUBSCRIBE_SALT
from bot.wiring.email_pages import TEXTS
from storage.models import Invitation, OptOut, Response
from storage.uow import UnitOfWork
from surveys.texts import LOCALES
from tests.conftest import FakeClock, app_client, make_settings
from tests.standins.smtp_server import SmtpStandIn, smtp_standin

SECRET = "test-secret-key-0123456789"  # make_settings' secret_key
BASE = "http://chat.example.test"
SURVEY = {
    "key": "support-csat",
    "metric": "csat",
    "question": "How did {agent} do on ticket {ticket_id}?",
    "reasons": ["Slow reply", "Problem not solved"],
    "labels": {"low": "Very unhappy", "high": "Very happy"},
}


@dataclass
class Ctx:
    client: httpx.AsyncClient
    services: Services
    smtp: SmtpStandIn
    clock: FakeClock


@pytest.fixture
def smtp() -> Iterator[SmtpStandIn]:
    with smtp_standin() as server:
        yield server


@pytest.fixture
async def ctx(database_url: str, clock: FakeClock, smtp: SmtpStandIn) -> AsyncIterator[Ctx]:
    settings = make_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_tls="none",
        smtp_from="Surveys <surveys@example.com>",
        smtp_unsubscribe_mailto="unsubscribe@example.com",
    )
    async with app_client(settings, clock, base_url=BASE) as (client, services):
        assert (await client.post("/api/v1/surveys", json=SURVEY)).status_code == 201
        yield Ctx(client, services, smtp, clock)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.hrefs += [v for k, v in attrs if k == "href" and v]


def html_links(message: EmailMessage) -> tuple[dict[int, str], _Links]:
    html_part = message.get_body(("html",))
    assert html_part is not None
    parser = _Links()
    parser.feed(html_part.get_content())
    scores = {int(parse_qs(urlsplit(h).query)["score"][0]): h for h in parser.hrefs if "/r/" in h}
    return scores, parser


async def trigger(ctx: Ctx, external_id: str = "cust-1", **contact: str) -> dict[str, str]:
    reply = await ctx.client.post(
        "/api/v1/triggers",
        json={
            "survey": "support-csat",
            "channel": "email",
            "contact": {
                "external_id": external_id,
                "email": f"{external_id}@example.com",
                **contact,
            },
            "properties": {"agent": "Ana", "ticket_id": "T-1001"},
        },
    )
    assert reply.status_code == 202, reply.text
    return dict(reply.json())


async def emailed(ctx: Ctx, external_id: str = "cust-1") -> tuple[str, EmailMessage]:
    """Trigger an email survey, dispatch it, and return the invitation id and the message."""
    before = len(ctx.smtp.messages)
    invitation_id = (await trigger(ctx, external_id))["invitation_id"]
    assert await ctx.services.outbox.send_due() == 1
    received = await ctx.smtp.wait_for_async(before + 1)
    return invitation_id, received[-1].message()


async def stored(ctx: Ctx, invitation_id: str) -> tuple[Invitation, Response | None, int]:
    async with UnitOfWork(ctx.services.sessions) as uow:
        invitation = await uow.invitations.get(invitation_id)
        response = await uow.responses.for_invitation(invitation_id)
        transcript = await uow.messages.transcript(invitation_id)
    assert invitation is not None
    return invitation, response, len(transcript)


def same_chat(ctx: Ctx, first: str, second: str) -> bool:
    def opened(url: str) -> str:
        return ctx.services.links.open(url.rsplit("/", 1)[1], max_age_seconds=3600)

    return opened(first) == opened(second)


async def click(ctx: Ctx, url: str, client_id: str) -> httpx.Response:
    """What the rating page's script does in a browser."""
    score = int(parse_qs(urlsplit(url).query)["score"][0])
    return await ctx.client.post(
        urlsplit(url).path, json={"score": score, "client_message_id": client_id}
    )


def chat_path(url: str) -> str:
    return urlsplit(url).path


async def test_email_is_multipart_with_a_link_per_score_and_unsubscribe_headers(ctx: Ctx) -> None:
    invitation_id, message = await emailed(ctx)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["To"] == "cust-1@example.com"
    assert message["From"] == "Surveys <surveys@example.com>"
    assert message["Subject"] == "How did Ana do on ticket T-1001?"
    unsubscribe = str(message["List-Unsubscribe"])
    assert unsubscribe.startswith(f"<{BASE}/u/")
    assert unsubscribe.endswith(", <mailto:unsubscribe@example.com?subject=unsubscribe>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # On the wire too: a folded, encoded-word URL is not one a mail provider would use.
    raw = ctx.smtp.messages[-1].data.decode("ascii")
    (line,) = [h for h in raw.splitlines() if h.startswith("List-Unsubscribe:")]
    assert line == f"List-Unsubscribe: {unsubscribe}"
    invitation, _, _ = await stored(ctx, invitation_id)
    assert invitation.status == "sent" and invitation.provider_message_id == message["Message-ID"]

    scores, parser = html_links(message)
    assert sorted(scores) == [1, 2, 3, 4, 5]
    assert all(url.startswith(f"{BASE}/r/") for url in scores.values())
    assert not parser.tags & {"img", "script", "link", "style", "iframe"}
    assert all(h.startswith(f"{BASE}/") for h in parser.hrefs)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "How did Ana do on ticket T-1001?" in html
    assert "Very unhappy" in html and "Very happy" in html
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Click a number from 1 to 5 to answer." in text and "Reply with" not in text
    assert all(url in text for url in scores.values())
    assert f"1 (Very unhappy): {scores[1]}" in text


async def test_opening_a_link_records_nothing_and_confirming_records_the_score(ctx: Ctx) -> None:
    invitation_id, message = await emailed(ctx)
    scores, _ = html_links(message)
    _, _, before = await stored(ctx, invitation_id)

    page = await ctx.client.get(scores[4])  # what a mail scanner does
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert '<script src="/r/static/rate.js" defer>' in page.text
    assert "Confirm score 4" in page.text and 'method="post"' in page.text
    assert (await ctx.client.get("/r/static/rate.js")).status_code == 200
    assert (await ctx.client.get("/r/static/page.css")).status_code == 200
    invitation, response, count = await stored(ctx, invitation_id)
    assert (invitation.status, response, count) == ("sent", None, before)

    reply = await click(ctx, scores[4], "c1")
    assert reply.status_code == 200
    assert reply.json()["next"].startswith(f"{BASE}/s/")
    invitation, response, _ = await stored(ctx, invitation_id)
    assert response is not None and response.score == 4 and response.channel == "email"
    assert invitation.step == "awaiting_comment"

    state = (await ctx.client.get(chat_path(reply.json()["next"]) + "/state")).json()
    assert state["status"] == "active" and state["choices_kind"] == "skip"
    assert [m["direction"] for m in state["messages"]] == ["out", "in", "out"]


async def test_another_score_replaces_it_until_the_comment(ctx: Ctx) -> None:
    invitation_id, message = await emailed(ctx)
    scores, _ = html_links(message)
    chat = (await click(ctx, scores[4], "c1")).json()["next"]
    await click(ctx, scores[2], "c2")  # changed their mind: a low score asks for a reason
    invitation, response, count = await stored(ctx, invitation_id)
    assert response is not None and response.score == 2
    assert invitation.step == "awaiting_reason"
    await click(ctx, scores[2], "c2")  # the script's retry: same id
    await click(ctx, scores[2], "c3")  # the same link opened again in another tab
    assert (await stored(ctx, invitation_id))[2] == count

    for text in ("Slow reply", "Three days for a first answer"):
        sent = await ctx.client.post(
            chat_path(chat) + "/messages", json={"text": text, "client_message_id": text[:5]}
        )
        assert sent.status_code == 200
    invitation, response, count = await stored(ctx, invitation_id)
    assert invitation.status == "completed" and response is not None
    assert (response.score, response.reason, response.comment) == (
        2,
        "Slow reply",
        "Three days for a first answer",
    )

    late = await click(ctx, scores[5], "c4")  # after the comment nothing changes
    assert late.status_code == 200
    # Links are signed anew on each answer (with a timestamp): compare what they point to.
    assert same_chat(ctx, late.json()["next"], chat)
    after, response, after_count = await stored(ctx, invitation_id)
    assert response is not None and (response.score, after.status) == (2, "completed")
    assert after_count == count
    async with UnitOfWork(ctx.services.sessions) as uow:
        assert len(await uow.responses.list_for_survey(response.survey_id)) == 1


async def test_the_no_script_form_confirms_and_redirects_to_the_chat(ctx: Ctx) -> None:
    invitation_id, message = await emailed(ctx)
    scores, _ = html_links(message)
    page = (await ctx.client.get(scores[5])).text
    nonce = page.split('name="client_message_id" value="', 1)[1].split('"', 1)[0]
    form = {"score": "5", "client_message_id": nonce}
    path = urlsplit(scores[5]).path + "?score=5"
    reply = await ctx.client.post(path, data=form)
    assert reply.status_code == 303 and reply.headers["location"].startswith(f"{BASE}/s/")
    _, response, count = await stored(ctx, invitation_id)
    assert response is not None and response.score == 5
    assert (await ctx.client.post(path, data=form)).status_code == 303  # resubmitted
    assert (await stored(ctx, invitation_id))[2] == count


def _expired(salt: str, value: object, age: int) -> str:
    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    return URLSafeTimedSerializer(SECRET, salt=salt, signer=Past).dumps(value)


async def test_bad_tampered_and_expired_links_are_refused(ctx: Ctx) -> None:
    invitation_id, message = await emailed(ctx)
    scores, _ = html_links(message)
    path = urlsplit(scores[3]).path
    token = path.rsplit("/", 1)[1]
    tampered = f"/r/{token[:-2]}{'AA' if not token.endswith('AA') else 'BB'}"
    expired = f"/r/{_expired(RATE_SALT, invitation_id, 400 * 86400)}"
    foreign = f"/r/{_expired('surveybot.webchat.link', invitation_id, 0)}"  # another purpose
    for bad, status in ((tampered, 404), (expired, 410), (foreign, 404), ("/r/x", 404)):
        assert (await ctx.client.get(f"{bad}?score=3")).status_code == status
        reply = await ctx.client.post(bad, json={"score": 3, "client_message_id": "c1"})
        assert reply.status_code == status
        assert (await ctx.client.post(bad, data={"score": "3"})).status_code == status
    for score in ("9", "0", "x", ""):  # not on the 1-5 scale
        assert (await ctx.client.get(f"{path}?score={score}")).status_code == 404
        reply = await ctx.client.post(path, json={"score": score, "client_message_id": "c1"})
        assert reply.status_code == 404
    bad_id = await ctx.client.post(path, json={"score": 3, "client_message_id": "a b"})
    assert bad_id.status_code == 422

    contact_id = (await stored(ctx, invitation_id))[0].contact_id
    old = f"/u/{_expired(UNSUBSCRIBE_SALT, [contact_id, 'email'], UNSUBSCRIBE_MAX_AGE + 86400)}"
    rate_as_unsubscribe = f"/u/{token}"
    for bad, status in ((old, 410), (rate_as_unsubscribe, 404), ("/u/x", 404)):
        assert (await ctx.client.get(bad)).status_code == status
        assert (await ctx.client.post(bad)).status_code == status
    invitation, response, _ = await stored(ctx, invitation_id)
    assert (invitation.status, response) == ("sent", None)
    async with UnitOfWork(ctx.services.sessions) as uow:
        assert not await uow.opt_outs.is_opted_out(contact_id, "email")


async def test_one_click_unsubscribe_and_the_next_trigger_is_skipped(ctx: Ctx) -> None:
    invitation_id, message = await emailed(ctx)
    url = str(message["List-Unsubscribe"]).split(",")[0].strip("<> ")
    contact_id = (await stored(ctx, invitation_id))[0].contact_id

    page = await ctx.client.get(url)  # a GET only asks
    assert page.status_code == 200 and 'method="post"' in page.text
    async with UnitOfWork(ctx.services.sessions) as uow:
        assert not await uow.opt_outs.is_opted_out(contact_id, "email")

    for _ in range(2):  # RFC 8058: a bare POST, no cookies, no redirect; twice is harmless
        reply = await ctx.client.post(
            url,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert reply.status_code == 200 and "unsubscribed" in reply.text
        assert "set-cookie" not in reply.headers
    async with UnitOfWork(ctx.services.sessions) as uow:
        rows = (await uow.session.execute(select(OptOut))).scalars().all()
    assert [(r.contact_id, r.channel, r.source) for r in rows] == [
        (contact_id, "email", "unsubscribe")
    ]
    assert "unsubscribed" in (await ctx.client.get(url)).text

    ctx.clock.advance(days=60)  # past the throttle window
    again = await trigger(ctx)
    assert (again["status"], again["reason"]) == ("skipped", "opted_out")


async def test_unsubscribing_ends_the_open_email_survey_as_stop_does(ctx: Ctx) -> None:
    invitation_id, message = await emailed(ctx)
    url = str(message["List-Unsubscribe"]).split(",")[0].strip("<> ")
    reply = await ctx.client.post(url, content=b"List-Unsubscribe=One-Click")
    assert reply.status_code == 200
    invitation, response, _ = await stored(ctx, invitation_id)
    assert (invitation.status, invitation.step, response) == ("closed", "done", None)
    score_link = html_links(message)[0][4]
    await click(ctx, score_link, "after-unsubscribing")  # a click changes nothing now
    assert (await stored(ctx, invitation_id))[1] is None


async def test_550_suppresses_the_address_without_retrying(ctx: Ctx) -> None:
    ctx.smtp.refuse_next_rcpt(550)
    invitation_id = (await trigger(ctx))["invitation_id"]
    await ctx.services.outbox.send_due()
    invitation, _, _ = await stored(ctx, invitation_id)
    assert invitation.status == "failed" and "550" in (invitation.last_error or "")
    assert "cust-1@example.com" not in (invitation.last_error or "")  # masked
    async with UnitOfWork(ctx.services.sessions) as uow:
        assert await uow.opt_outs.is_opted_out(invitation.contact_id, "email")
    ctx.clock.advance(minutes=5)
    assert await ctx.services.outbox.send_due() == 0
    assert ctx.smtp.messages == [] and len(ctx.smtp.refused) == 1


async def test_451_is_retried_with_backoff(ctx: Ctx) -> None:
    ctx.smtp.refuse_next_rcpt(451)
    invitation_id = (await trigger(ctx))["invitation_id"]
    await ctx.services.outbox.send_due()
    invitation, _, _ = await stored(ctx, invitation_id)
    assert invitation.status == "scheduled" and "451" in (invitation.last_error or "")
    assert await ctx.services.outbox.send_due() == 0  # not due yet
    ctx.clock.advance(seconds=3)
    assert await ctx.services.outbox.send_due() == 1
    invitation, _, _ = await stored(ctx, invitation_id)
    assert invitation.status == "sent" and len(ctx.smtp.messages) == 1


def test_email_texts_exist_in_every_locale() -> None:
    for key, by_locale in TEXTS.items():
        assert set(by_locale) == set(LOCALES), key


BRAND = "Acme <Support> & Co"
BRAND_HTML = "Acme &lt;Support&gt; &amp; Co"


@pytest.fixture
async def branded(database_url: str, clock: FakeClock, smtp: SmtpStandIn) -> AsyncIterator[Ctx]:
    """`ctx` with SURVEYBOT_BRAND_NAME and SURVEYBOT_BRAND_COLOR set, the sender unnamed."""
    settings = make_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_tls="none",
        smtp_from="surveys@example.com",
        brand_name=BRAND,
        brand_color="#FFCC00",
    )
    async with app_client(settings, clock, base_url=BASE) as (client, services):
        assert (await client.post("/api/v1/surveys", json=SURVEY)).status_code == 201
        yield Ctx(client, services, smtp, clock)


async def test_the_email_carries_the_brand_name_and_colour(branded: Ctx) -> None:
    _, message = await emailed(branded)
    assert message["From"].addresses[0].display_name == BRAND  # named after the brand
    assert message["From"].addresses[0].addr_spec == "surveys@example.com"
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert BRAND_HTML in html and BRAND not in html  # escaped
    # Yellow is too light for white text: the buttons' text is dark.
    assert html.count("background:#ffcc00;color:#1b1f24;") == 5
    assert "#1a56db" not in html
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert f"-- \n{BRAND}\nUnsubscribe from these surveys: {BASE}/u/" in text


async def test_without_a_brand_the_sender_name_stays_and_the_look_is_built_in(ctx: Ctx) -> None:
    _, message = await emailed(ctx)
    assert message["From"] == "Surveys <surveys@example.com>"
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert html.count("background:#1a56db;color:#ffffff;") == 5


async def test_the_rating_unsubscribe_and_refusal_pages_carry_the_brand(branded: Ctx) -> None:
    _, message = await emailed(branded)
    scores, _ = html_links(message)
    unsubscribe = str(message["List-Unsubscribe"]).strip("<> ")
    pages = [
        await branded.client.get(scores[4]),
        await branded.client.get(unsubscribe),
        await branded.client.post(unsubscribe),
        await branded.client.get("/r/not-a-token?score=4"),
        await branded.client.get("/u/not-a-token"),
    ]
    assert [page.status_code for page in pages] == [200, 200, 200, 404, 404]
    for page in pages:
        assert f"<title>{BRAND_HTML}</title>" in page.text
        assert f'<p class="brand" data-testid="brand">{BRAND_HTML}</p>' in page.text
        assert BRAND not in page.text and "Quick survey" not in page.text
    css = await branded.client.get("/r/static/page.css")
    assert css.status_code == 200
    assert "--accent: #ffcc00; --accent-fg: #1b1f24;" in css.text
    # After the dark theme's rules, so the brand's colour holds in both.
    assert css.text.index("prefers-color-scheme: dark") < css.text.index("--accent: #ffcc00")


async def test_unbranded_pages_keep_the_localised_title(ctx: Ctx) -> None:
    _, message = await emailed(ctx)
    page = await ctx.client.get(html_links(message)[0][4])
    assert "<title>Quick survey</title>" in page.text and 'class="brand"' not in page.text
    css = await ctx.client.get("/r/static/page.css")
    assert "SURVEYBOT_BRAND_COLOR" not in css.text
