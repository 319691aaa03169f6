"""`surveybot try`: one test conversation in the terminal, shown as a channel's customer sees it.

The conversation runs through the real engine and the channel's own rendering, but no channel is
built and nothing is sent: the question is recorded as sent to a test contact (`try:<channel>`,
with no address anyone could be reached at), on an invitation marked `test`, which reports,
response listings and campaign audiences leave out.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from bot.cli.common import fail, load_settings, run
from bot.cli.try_views import view

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.conversation.engine import ConversationEngine
    from bot.conversation.talk import Talk
    from bot.runtime.settings import Settings
    from bot.wiring.base import ChannelWiring
    from channels.base import OutboundMessage
    from channels.email import Look
    from surveys.definitions import Survey

CHANNELS = ("sms", "whatsapp", "telegram", "email", "web")
INDENT = " " * 10


def try_(
    survey: Annotated[str, typer.Argument(help="Survey key")],
    channel: Annotated[
        str,
        typer.Option("--channel", help="sms, whatsapp, telegram, email or web", show_default=True),
    ] = "web",
    locale: Annotated[
        str | None, typer.Option("--locale", help="The customer's language, e.g. es")
    ] = None,
    properties: Annotated[
        list[str] | None,
        typer.Option("--property", help="KEY=VALUE for the question's placeholders (repeatable)"),
    ] = None,
) -> None:
    """Try a survey in the terminal as a customer would see it on a channel (nothing is sent).

    The customer's replies are read from standard input, one per line, so they can be piped:
    printf '4\\nfast\\n' | surveybot try support-csat --channel sms
    """
    if channel not in CHANNELS:
        fail(f"unknown channel {channel!r}: use sms, whatsapp, telegram, email or web")
    if locale is not None:
        from surveys.texts import normalize_locale

        tag, locale = locale, normalize_locale(locale)
        if locale is None:
            fail(f"--locale {tag!r} is not a language tag (such as en, es or pt-BR)")
    values = _properties(properties or [])
    settings = load_settings()
    run(_try(settings, survey, channel, locale, values, sys.stdin))


def _properties(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--property {pair!r} is not KEY=VALUE")
        values[key.strip()] = value
    return values


@dataclass(slots=True)
class _Trial:
    """The test conversation under way."""

    invitation_id: str
    contact: str  # the test contact's external id
    survey: Survey
    channel: str
    look: Look
    clicked: bool = False  # email: a rating link was clicked, and the web chat page goes on
    note: str | None = None  # what the channel sends instead to someone who has not written

    @property
    def inbound_channel(self) -> str:
        """Where the next reply comes from: an email's click, then its web chat page."""
        return "web" if self.clicked else self.channel


async def _try(
    settings: Settings,
    key: str,
    channel: str,
    locale: str | None,
    properties: dict[str, str],
    stdin: TextIO,
) -> None:
    from bot.conversation.engine import ConversationEngine
    from bot.runtime.database import database
    from bot.runtime.services import utc_now
    from bot.wiring import registry

    async with database(settings) as sessions:
        trial, question = await _start(sessions, settings, key, channel, locale, properties)
        typer.echo(
            f"Trying {key} on {channel} as the test contact {trial.contact}: "
            "nothing is sent, and reports leave it out."
        )
        typer.echo("Type the customer's replies, one per line; end with Ctrl-D.\n")
        _say(view(channel, question, trial.look, question=True))
        if trial.note:
            _say([trial.note])
        engine = ConversationEngine(
            sessions=sessions,
            clock=utc_now,
            catalog=registry.infos(),
            max_reprompts=settings.max_reprompts,
        )
        ended, count = False, 0
        while not ended:
            # Read in this thread: nothing else runs meanwhile, and Ctrl-C reaches the prompt.
            line = _read(stdin)
            if line is None:
                break
            if line.strip():
                count += 1
                ended = await _turn(engine, trial, line, count, utc_now())
        await _summary(sessions, trial, ended)


def _read(stdin: TextIO) -> str | None:
    """The customer's next line (prompted on a terminal, echoed when piped); None at the end."""
    if stdin.isatty():
        try:
            return input("customer: ")
        except (EOFError, KeyboardInterrupt):
            typer.echo()
            return None
    line = stdin.readline()
    if not line:
        return None
    line = line.rstrip("\r\n")
    if line.strip():
        typer.echo(f"customer: {line}")
    return line


async def _start(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    key: str,
    channel: str,
    locale: str | None,
    properties: dict[str, str],
) -> tuple[_Trial, OutboundMessage]:
    """Record the question as sent to the test contact, in one transaction; the question."""
    from bot.conversation.talk import Talk
    from bot.invitations import lifecycle, recorder
    from bot.runtime.services import utc_now
    from bot.wiring import registry
    from bot.wiring.branding import Brand
    from channels.base import degrade_to_text
    from storage.models import Invitation
    from storage.repositories.contacts import TEST_CONTACT_PREFIX
    from storage.repositories.surveys import to_domain
    from storage.secrets import instance_secret
    from storage.uow import UnitOfWork
    from surveys import placeholders

    secret = (
        settings.secret_key.get_secret_value()
        if settings.secret_key is not None
        else await instance_secret(sessions, "link-signing")
    )
    wiring = next(w for w in registry.WIRINGS if w.name == channel)
    external_id = f"{TEST_CONTACT_PREFIX}{channel}"
    now = utc_now()
    async with UnitOfWork(sessions) as uow:
        row = await uow.surveys.get_by_key(key)
        if row is None:
            fail(f"survey {key!r} does not exist")
        if getattr(row, "archived_at", None) is not None:
            fail(f"survey {key!r} is archived")
        survey = to_domain(row)
        contact = await uow.contacts.upsert(external_id, {})
        missing = placeholders.unfilled(
            survey, contact=contact.properties, trigger=properties, name=contact.name
        )
        if missing:  # the customer would see a raw "{agent}", as a trigger would be refused
            names = ", ".join(f"{{{name}}}" for name in missing)
            fail(f"survey {key!r} uses {names}: give a value with --property {missing[0]}=VALUE")
        contact_id = contact.id or 0
        await recorder.opt_in(uow, contact_id, channel)  # a STOP in an earlier try
        invitation = Invitation(
            survey_id=row.id or 0,
            contact_id=contact_id,
            channel=channel,
            locale=locale,
            send_at=now,
            properties=properties,
            test=True,
        )
        await uow.invitations.add(invitation)
        talk = Talk.of(survey, contact, invitation, invitation.id, max_text=wiring.info.max_text)
        message = wiring.prepare(talk.question(), invitation, settings=settings, secret=secret)
        # Claimed and sent in the transaction that creates it: no outbox ever finds it due.
        await recorder.record(uow, invitation, lifecycle.claimed(now, now), at=now)
        hours = survey.expires_after_hours or settings.invitation_ttl_hours
        sent = lifecycle.sent(
            now,
            provider_message_id=f"try-{invitation.id}",
            expires_at=now + timedelta(hours=hours),
            remind_at=None,
        )
        await recorder.record(uow, invitation, sent, at=now)
        await uow.messages.add_outbound(
            channel=channel,
            address=invitation.id,
            text=degrade_to_text(message, include_link=False),
            invitation_id=invitation.id,
            contact_id=contact_id,
            provider_message_id=f"try-{invitation.id}",
            created_at=now,
        )
        await uow.commit()
    look = Brand.of(settings).look()
    note = _outside_session(wiring, message, talk)
    return _Trial(invitation.id, external_id, survey, channel, look, note=note), message


def _outside_session(wiring: ChannelWiring, message: OutboundMessage, talk: Talk) -> str | None:
    """What goes instead of the question to someone who has not written lately (WhatsApp's
    template), as a line for the terminal; None on channels without a session window."""
    from channels.base import PermanentSendError

    hours = wiring.info.session_hours
    if hours is None:
        return None
    try:
        template = wiring.outside_session(message, talk).template
    except PermanentSendError as exc:
        return f"(to a customer who has not written in {hours:g} hours nothing can go: {exc})"
    if template is None:
        return None
    filled = ", ".join(f"{{{{{name}}}}} = {value}" for name, value in template.variables.items())
    return (
        f"(to a customer who has not written in {hours:g} hours the approved template"
        f" {template.id} goes instead" + (f", with {filled})" if filled else ")")
    )


async def _turn(
    engine: ConversationEngine, trial: _Trial, text: str, count: int, now: datetime
) -> bool:
    """Hand one reply to the engine and show its answer; whether the conversation has ended."""
    from bot.invitations import lifecycle
    from channels.base import InboundMessage

    click = trial.channel == "email" and not trial.clicked
    if click:  # an email is answered by clicking one of its numbers
        low, high = trial.survey.low, trial.survey.high
        text = text.strip()
        if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
            typer.echo(f"{INDENT}(an email is answered by clicking a number: type {low}-{high})")
            return False
    inbound = InboundMessage(
        channel=trial.inbound_channel,
        address=trial.invitation_id,
        text=text,
        provider_message_id=f"try-{trial.invitation_id}-{count}",
        received_at=now,
    )
    reply = await engine.handle(inbound, invitation_id=trial.invitation_id, rescore=click)
    if click:
        trial.clicked = True
        typer.echo(f"{INDENT}(the rating link opens the web chat page, which goes on:)")
    for message in reply.messages:
        _say(view(trial.inbound_channel, message, trial.look))
    conversation = reply.conversation
    return conversation is not None and (
        lifecycle.ended(conversation.invitation) or conversation.opted_out
    )


def _say(lines: list[str]) -> None:
    """The survey's message, its lines indented under the speaker."""
    for i, line in enumerate(lines):
        typer.echo(f"{'survey:'.ljust(len(INDENT)) if i == 0 else INDENT}{line}" if line else "")


async def _summary(sessions: async_sessionmaker[AsyncSession], trial: _Trial, ended: bool) -> None:
    from storage.uow import UnitOfWork

    async with UnitOfWork(sessions) as uow:
        response = await uow.responses.for_invitation(trial.invitation_id)
    head = "The conversation has ended." if ended else "Input ended before the conversation did."
    if response is None:
        typer.echo(f"\n{head} No answer was stored.")
        return
    parts = [f"score {response.score}"]
    if response.reason:
        parts.append(f"reason {response.reason!r}")
    if response.comment:
        parts.append(f"comment {response.comment!r}")
    typer.echo(
        f"\n{head} Stored as a test (invitation {trial.invitation_id}), left out of reports "
        f"and response listings: {', '.join(parts)}."
    )
