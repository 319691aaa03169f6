"""What an event says when it goes out: the JSON body, or a Slack incoming-webhook message.

A body is built once, at a delivery's first attempt, from the rows as they stand then (so an
alert sent a minute after the score carries the comment given meanwhile), and stored: every
retry sends the same bytes under the same event id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.models import Contact, Invitation, Response, SurveyRow
from storage.outbound import Event

# Properties shown in a Slack message beside the score, in this order, when a response has them.
CONTEXT_FIRST = ("ticket_id", "ticket", "agent", "team", "plan")


@dataclass(frozen=True, slots=True)
class Subject:
    """The rows an event is about (any may be missing: an opt-out has no response)."""

    event: Event
    survey: SurveyRow | None = None
    invitation: Invitation | None = None
    response: Response | None = None
    contact: Contact | None = None

    @property
    def survey_key(self) -> str | None:
        return self.survey.key if self.survey is not None else None

    @property
    def channel(self) -> str | None:
        if self.response is not None:
            return self.response.channel
        if self.invitation is not None:
            return self.invitation.channel
        channel = self.event.data.get("channel")
        return str(channel) if channel is not None else None

    @property
    def properties(self) -> dict[str, Any]:
        if self.response is not None:
            return dict(self.response.properties or {})
        merged: dict[str, Any] = {}
        if self.contact is not None:
            merged.update(self.contact.properties or {})
        if self.invitation is not None:
            merged.update(self.invitation.properties or {})
        return merged


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def event_body(subject: Subject, *, band: str | None, timeline_url: str | None) -> dict[str, Any]:
    """The JSON body of a delivery: the event, and the response with its contact."""
    event = subject.event
    body: dict[str, Any] = {
        "id": event.uid,
        "type": event.type,
        "created_at": _iso(event.occurred_at),
        "survey": subject.survey_key,
        "invitation_id": event.invitation_id,
    }
    if subject.response is not None:
        response = subject.response
        body["response"] = {
            "id": response.id,
            "score": response.score,
            "band": band,
            "reason": response.reason,
            "comment": response.comment,
            "channel": response.channel,
            "answered_at": _iso(response.answered_at),
            "properties": response.properties or {},
        }
    if subject.contact is not None:
        contact = subject.contact
        body["contact"] = {
            "external_id": contact.external_id,
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "locale": contact.locale,
            "properties": contact.properties or {},
        }
    if subject.invitation is not None:
        body["invitation"] = {
            "channel": subject.invitation.channel,
            "status": subject.invitation.status,
            "properties": subject.invitation.properties or {},
            "last_error": subject.invitation.last_error,
        }
    if event.data:
        body["data"] = event.data
    if timeline_url:
        body["timeline_url"] = timeline_url
    return body


def slack_body(subject: Subject, *, band: str | None, timeline_url: str | None) -> dict[str, Any]:
    """An incoming-webhook message: a one-line `text` (notifications) and `blocks`."""
    event, response = subject.event, subject.response
    who = subject.contact.external_id if subject.contact is not None else "a contact"
    if response is not None:
        headline = f"{subject.survey_key}: {response.score} ({band}) from {who}"
    elif event.type == "contact.opted_out":
        headline = f"{who} opted out on {subject.channel}"
    elif event.type == "invitation.failed":
        error = subject.invitation.last_error if subject.invitation else None
        headline = f"{subject.survey_key}: invitation to {who} failed ({error or 'no reason'})"
    else:
        headline = f"{event.type} for {who}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_slack(headline)}*"}}
    ]
    if response is not None and response.comment:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "> " + _slack(response.comment)}}
        )
    context = _context(subject)
    if context:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _slack(context)}]}
        )
    if timeline_url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the timeline"},
                        "url": timeline_url,
                    }
                ],
            }
        )
    return {"text": headline, "blocks": blocks}


def encode(body: dict[str, Any]) -> str:
    """The exact text sent (and signed): compact JSON, UTF-8."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)


def _context(subject: Subject) -> str:
    properties = subject.properties
    names = [n for n in CONTEXT_FIRST if n in properties] + sorted(
        n for n in properties if n not in CONTEXT_FIRST
    )
    parts = [f"{n}: {properties[n]}" for n in names[:5] if isinstance(properties[n], str | int)]
    if subject.channel:
        parts.insert(0, f"channel: {subject.channel}")
    return " · ".join(parts)


def _slack(text: str) -> str:
    """Text safe in Slack's mrkdwn: the three characters it reads as markup, escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
