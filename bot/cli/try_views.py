"""What a `surveybot try` customer sees of a message on each channel, as lines of text.

Each channel's own rendering is used: the SMS text and its segment count, Telegram's text and
keyboard, the email's subject and text part, the web chat's bubble and buttons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from channels.base import OutboundMessage
    from channels.email import Look


def view(
    channel: str, message: OutboundMessage, look: Look, *, question: bool = False
) -> list[str]:
    """What the customer sees of a message on `channel`, as lines of text."""
    if channel == "sms":
        return _sms(message)
    if channel == "whatsapp":
        return _whatsapp(message)
    if channel == "telegram":
        return _telegram(message)
    if channel == "email":
        return _email(message, look)
    lines = _web(message, question=question)
    if question and message.link:
        lines.append(f"(the chat page: {message.link})")
    return lines


def _sms(message: OutboundMessage) -> list[str]:
    from channels.base import degrade_to_text
    from channels.sms import encoding, segments

    text = degrade_to_text(message)  # what SmsChannel sends and a TwiML reply carries
    count = segments(text)
    plural = "" if count == 1 else "s"
    facts = f"(SMS: {count} segment{plural}, {encoding(text)}, {len(text)} characters)"
    return [*text.splitlines(), facts]


def _whatsapp(message: OutboundMessage) -> list[str]:
    from channels.base import degrade_to_text
    from channels.whatsapp import buttons_fit

    if not buttons_fit(message):  # what WhatsAppChannel sends: the text with the hint
        return degrade_to_text(message).splitlines()
    return [*message.text.splitlines(), " ".join(f"[{c.label}]" for c in message.choices)]


def _telegram(message: OutboundMessage) -> list[str]:
    from channels.telegram import keyboard, message_text

    lines = message_text(message).splitlines()
    markup = keyboard(message.choices, message.reference)
    if markup is not None:
        lines += [" ".join(f"[{b.text}]" for b in row) for row in markup.inline_keyboard]
    return lines


def _email(message: OutboundMessage, look: Look) -> list[str]:
    from channels.email import render_text, subject_from

    subject = message.metadata.get("subject") or subject_from(message.text)
    return [f"Subject: {subject}", "", *render_text(message, look).splitlines()]


def _web(message: OutboundMessage, *, question: bool) -> list[str]:
    """The chat page: the message's bubble, then its buttons."""
    from channels.base import degrade_to_text

    # The question's bubble is the text the outbox stores (with the typed-answer hint).
    text = degrade_to_text(message, include_link=False) if question else message.text
    lines = text.splitlines()
    choices = message.choices
    if choices and all(c.value.isdigit() for c in choices):
        lines.append(" ".join(f"[{c.label}]" for c in choices))
        if message.labels:
            low, high = message.labels
            lines.append(f"{choices[0].label} = {low} ... {choices[-1].label} = {high}")
    else:
        lines += [f"[{c.label}]" for c in choices]
    return lines
