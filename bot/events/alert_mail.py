"""What an alert says: the email (text and HTML) and the `alert.triggered` webhook body.

Built once, at the alert's first attempt, from the rows as they stand then (a comment given in
the grace after the score is in it), like every delivery's body.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot.events import mail_layout as layout
from bot.events.mail import Mail
from bot.events.payloads import Subject, event_body, slack_body
from storage.alerting import AlertRule
from storage.repositories.surveys import to_domain

ALERT_TYPE = "alert.triggered"
# Properties shown first in the context line, when a response has them.
CONTEXT_FIRST = ("ticket_id", "ticket", "agent", "team", "plan")
MAX_CONTEXT = 8


@dataclass(frozen=True, slots=True)
class Links:
    """Where the alert points: the invitation's timeline and the survey's dashboard page."""

    timeline: str | None
    dashboard: str | None


def links_for(subject: Subject, base_url: str) -> Links:
    base = base_url.rstrip("/")
    invitation_id = subject.event.invitation_id
    timeline = f"{base}/dashboard/invitations/{invitation_id}" if invitation_id else None
    key = subject.survey_key
    dashboard = f"{base}/dashboard/surveys/{quote(key, safe='')}" if key else None
    return Links(timeline=timeline, dashboard=dashboard)


def describe_rule(rule: AlertRule, survey_key: str) -> str:
    """A rule in a few words: `support-csat, score ≤ 2, channel = sms`."""
    parts = [survey_key, f"score ≤ {rule.score_max}"]
    for name, value in sorted(rule.filters.items()):
        parts.append(f"{name.removeprefix('property.')} = {value}")
    return ", ".join(parts)


def _who(subject: Subject) -> str:
    contact = subject.contact
    if contact is None:
        return "an erased contact"
    if contact.name:
        return f"{contact.name} ({contact.external_id})"
    return contact.external_id


def _context(subject: Subject) -> list[tuple[str, str]]:
    properties = subject.properties
    names = [n for n in CONTEXT_FIRST if n in properties] + sorted(
        n for n in properties if n not in CONTEXT_FIRST
    )
    return [(n, str(properties[n])) for n in names[:MAX_CONTEXT] if properties[n] is not None]


def _facts(subject: Subject, band: str) -> list[tuple[str, str]]:
    response = subject.response
    assert response is not None and subject.survey is not None
    survey = to_domain(subject.survey)
    low, high = survey.scale_range
    rows = [("Score", f"{response.score} on {low}–{high} ({band})")]
    if response.reason:
        rows.append(("Reason", response.reason))
    rows.append(("Comment", response.comment if response.comment else "(none yet)"))
    rows.append(("Contact", _who(subject)))
    contact = subject.contact
    reach = [v for v in (contact.email, contact.phone) if v] if contact is not None else []
    if reach:
        rows.append(("Reach them at", ", ".join(reach)))
    rows.append(("Channel", response.channel))
    # In the survey's time zone, as the people it alerts read their day.
    local = response.answered_at.astimezone(ZoneInfo(survey.timezone))
    rows.append(("Answered", f"{local:%Y-%m-%d %H:%M} {survey.timezone}"))
    context = " · ".join(f"{name}: {value}" for name, value in _context(subject))
    if context:
        rows.append(("Context", context))
    return rows


def alert_mail(
    to: str, rule: AlertRule, subject: Subject, band: str, links: Links, *, sender_name: str
) -> Mail:
    """The alert email to one address."""
    response, key = subject.response, subject.survey_key or "a survey"
    assert response is not None
    title = f"Low score on {key}: {response.score} ({band}) from {_who(subject)}"
    facts = _facts(subject, band)
    why = (
        f"Alert rule {rule.id}: {describe_rule(rule, key)}. Sent once per response, about a"
        " minute after the score, with what was known then; later comments are on the timeline."
    )
    lines = [title, "", *layout.text_facts(facts)]
    lines.append("")
    if links.timeline:
        lines.append(f"Open the timeline: {links.timeline}")
    if links.dashboard:
        lines.append(f"Survey dashboard: {links.dashboard}")
    lines += ["", "-- ", sender_name, *textwrap.wrap(why, 78)]
    blocks = [layout.heading(title, size=18), layout.facts(facts)]
    if links.dashboard:
        blocks.append(layout.paragraph(f"Survey dashboard: {links.dashboard}", muted=True))
    if links.timeline:
        blocks.append(layout.button(links.timeline, "Open the timeline"))
    html = layout.document(title, blocks, footer=f"{sender_name} · {why}")
    return Mail(to=to, subject=title, text="\n".join(lines) + "\n", html=html)


def alert_body(
    alert_id: str,
    rule: AlertRule,
    subject: Subject,
    band: str,
    links: Links,
    *,
    now: datetime,
    slack: bool = False,
) -> dict[str, Any]:
    """The webhook body: the event's body as type `alert.triggered`, with the rule; or, for a
    Slack subscription, an incoming-webhook message."""
    key = subject.survey_key or ""
    if slack:
        message = slack_body(subject, band=band, timeline_url=links.timeline)
        message["text"] = f"Alert ({describe_rule(rule, key)}): {message['text']}"
        first = message["blocks"][0]["text"]
        first["text"] = "*Alert:* " + first["text"]
        return message
    body = event_body(subject, band=band, timeline_url=links.timeline)
    body.update(
        id=alert_id,
        type=ALERT_TYPE,
        created_at=now.isoformat(),
        event_id=subject.event.uid,
        rule={"id": rule.id, "score_max": rule.score_max, "filters": rule.filters},
    )
    if links.dashboard:
        body["dashboard_url"] = links.dashboard
    return body
