"""Data for the dashboard's end-to-end test and screenshots, put in as a user would.

Surveys and keys with the CLI, five months of historical answers (channels, agents, plans,
comments in Finnish, Spanish, German, Arabic, Japanese and English) with
`surveybot import responses`, and a few web-chat
invitations triggered over the API and answered through the chat page's own endpoints, so the
funnel has triggered, skipped, sent and answered steps. Deterministic for a given `today`.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import monotonic, sleep

import httpx

from tests.e2e.conftest import Server

SURVEYS = """\
surveys:
  - key: support-csat
    metric: csat
    question: {en: "How did {agent} do on ticket {ticket_id}?"}
    reasons: ["Slow reply", "Problem not solved", "Unfriendly"]
    themes:
      speed: [slow, wait, waited, days, week, quick, minutes, hidas, hidasta, odotin, tardó,
              lento, rápido, schnell, بطيئا]
      billing: [billing, invoice, charged, laskutus, rechnung, factura]
      unsolved: [not solved, still, ei toimi, sin resolverse, لم يتم حل]
      friendliness: [friendly, ystävällinen, amable, freundliche, 親切]
  - key: onboarding-nps
    metric: nps
    question: {en: "How likely are you to recommend us to a friend?"}
"""
SURVEY = "support-csat"
DAYS = 150
AGENTS = (("Ana", 0.45), ("Bob", 0.3), ("Chen", 0.2), ("Dara", 0.05))
PLANS = (("free", 0.5), ("pro", 0.35), ("enterprise", 0.15))
CHANNELS = (("sms", 0.4), ("email", 0.3), ("telegram", 0.2), ("web", 0.1))
LOW = (
    "Three days for a first answer, far too slow",
    "The reply was slow and the problem is still not solved",
    "Billing charged me twice and nobody explained the invoice",
    "Odotin vastausta kolme päivää, liian hidasta",
    "Laskutus on edelleen väärin",
    "La respuesta tardó demasiado y el problema sigue sin resolverse",
    "Die Rechnung war falsch und niemand hat geantwortet",
    "لم يتم حل المشكلة والرد كان بطيئا جدا",
)
MIDDLE = ("It was fine in the end", "Ok, mutta hidasta", "Correcto, aunque lento")
HIGH = (
    "Quick and friendly, thank you",
    "Ana solved it in minutes, great service",
    "Erittäin ystävällinen ja nopea palvelu",
    "Muy amable y rápido, gracias",
    "Schnelle und freundliche Hilfe",
    "とても親切で早い対応でした",
)


@dataclass(frozen=True, slots=True)
class Seeded:
    """The keys the seed made: one that reads, one that only triggers."""

    read_key: str
    triggers_key: str
    chat_links: tuple[str, ...]


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _score(rng: random.Random, days_ago: int, agent: str) -> int:
    # Answers got better five weeks ago (a new reply process), and Bob's are worse, so the
    # trend, the change and the segments have something to show.
    good = (0.72 if days_ago <= 35 else 0.5) - (0.15 if agent == "Bob" else 0.0)
    roll = rng.random()
    if roll < good:
        return rng.choice((4, 5, 5))
    if roll < good + 0.12:
        return 3
    return rng.choice((1, 2, 2))


def responses_csv(today: date) -> str:
    """The historical answers as `surveybot import responses` reads them."""
    rng = random.Random(20261102)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["contact", "score", "comment", "answered_at", "channel", "agent", "plan",
                     "ticket_id"])  # fmt: skip
    ticket = 5000
    for days_ago in range(DAYS, 0, -1):
        day = today - timedelta(days=days_ago)
        for _ in range(rng.choice((4, 5, 6, 7))):
            ticket += 1
            agent = _pick(rng, AGENTS)
            score = _score(rng, days_ago, agent)
            texts = LOW if score <= 2 else MIDDLE if score == 3 else HIGH
            comment = rng.choice(texts) if rng.random() < 0.6 else ""
            moment = datetime.combine(day, time(8), tzinfo=UTC) + timedelta(
                minutes=rng.randrange(10 * 60)
            )
            writer.writerow([
                f"cust-{rng.randrange(1, 400)}", score, comment,
                moment.isoformat().replace("+00:00", "Z"), _pick(rng, CHANNELS), agent,
                _pick(rng, PLANS), f"T-{ticket}",
            ])  # fmt: skip
    return out.getvalue()


def _run(server: Server, *args: str) -> str:
    done = server.cli(*args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


# Web-chat answers: (contact, agent, plan, what the contact types, one message after another).
CHATS = (
    ("chat-1", "Ana", "pro", ("2", "Slow reply", "Waited a week for a reply")),
    ("chat-2", "Bob", "free", ("1", "Problem not solved", "Se ei vieläkään toimi")),
    ("chat-3", "Chen", "enterprise", ("5", "Smooth, thanks")),
    ("chat-4", "Ana", "free", ("4", "SKIP")),
)


def _trigger(server: Server, key: str, contact: str, agent: str, plan: str, ticket: str) -> dict:
    reply = httpx.post(
        f"{server.url}/api/v1/triggers",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "survey": SURVEY,
            "channel": "web",
            "contact": {"external_id": contact, "locale": "en"},
            "properties": {"agent": agent, "plan": plan, "ticket_id": ticket},
        },
        timeout=10,
    )
    assert reply.status_code == 202, reply.text
    body: dict = reply.json()
    return body


def _chat(link: str, messages: tuple[str, ...]) -> None:
    """Answer on the chat page's endpoints as its script does (the state first: it sends the
    question and marks the page opened)."""
    state = httpx.get(f"{link}/state", timeout=10)
    assert state.status_code == 200, state.text
    for n, text in enumerate(messages):
        sent = httpx.post(
            f"{link}/messages", json={"text": text, "client_message_id": f"seed-{n}"}, timeout=10
        )
        assert sent.status_code == 200, sent.text


def seed(server: Server, workdir: Path, *, today: date | None = None) -> Seeded:
    """Load the surveys, make the keys, import the history and run the web chats."""
    today = today or datetime.now(UTC).date()
    surveys = workdir / "surveys.yaml"
    surveys.write_text(SURVEYS, encoding="utf-8")
    _run(server, "surveys", "load", str(surveys))
    read_key = _run(server, "apikey", "create", "cx-manager", "--scope", "read").split()[-1]
    triggers_key = _run(server, "apikey", "create", "help-desk", "--scope", "triggers").split()[-1]
    history = workdir / "responses.csv"
    history.write_text(responses_csv(today), encoding="utf-8")
    _run(server, "import", "responses", str(history), "--survey", SURVEY)
    links = []
    for n, (contact, agent, plan, messages) in enumerate(CHATS):
        body = _trigger(server, triggers_key, contact, agent, plan, f"T-9{n:03d}")
        assert body["status"] == "scheduled", body
        links.append(str(body["link"]))
        _chat(body["link"], messages)
    # Opened and never answered; then a second survey for a contact just asked: throttled.
    waiting = _trigger(server, triggers_key, "chat-5", "Dara", "pro", "T-9100")
    httpx.get(f"{waiting['link']}/state", timeout=10).raise_for_status()
    again = _trigger(server, triggers_key, "chat-1", "Ana", "pro", "T-9101")
    assert again["status"] == "skipped", again
    return Seeded(read_key=read_key, triggers_key=triggers_key, chat_links=tuple(links))


def wait_for_themes(server: Server, key: str, *, timeout: float = 60.0) -> None:
    """Wait until the background tagger has given the imported comments their themes."""
    deadline = monotonic() + timeout
    while True:
        reply = httpx.get(
            f"{server.url}/api/v1/surveys/{SURVEY}/themes",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert reply.status_code == 200, reply.text
        if any(theme["responses"] for theme in reply.json()["themes"]):
            return
        assert monotonic() < deadline, "the comments were not tagged in time"
        sleep(0.5)
