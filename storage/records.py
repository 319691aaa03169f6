"""Light read-only copies of rows, loaded without the ORM where thousands are read at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.models import Contact, Invitation


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """What sending and rendering read of a contact."""

    id: int
    external_id: str
    name: str | None
    email: str | None
    phone: str | None
    telegram_chat_id: str | None
    locale: str | None
    timezone: str | None
    properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class InvitationRecord:
    """What the dispatcher reads of a claimed invitation."""

    id: str
    survey_id: int
    contact_id: int
    channel: str
    locale: str | None
    properties: dict[str, Any]
    attempts: int
    reminders_sent: int
    sent_at: datetime | None
    expires_at: datetime | None
    channels: list[str] | None = None  # the fallback order (None: `channel` alone)
    remind_on: str | None = None  # the next reminder's channel, when not `channel`


CONTACT_COLUMNS = tuple(ContactRecord.__slots__)
INVITATION_COLUMNS = tuple(InvitationRecord.__slots__)

# Rendering and sending accept either the ORM object or the light record.
ContactView = Contact | ContactRecord
InvitationView = Invitation | InvitationRecord
