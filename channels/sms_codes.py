"""Twilio's error codes (SMS and WhatsApp) that decide what happens to a number: light, for
callers without twilio."""

from __future__ import annotations

# Twilio error codes (https://www.twilio.com/docs/api/errors).
OPTED_OUT = 21610  # the recipient replied STOP: never send again until they opt back in
NOT_ON_WHATSAPP = 63003  # WhatsApp: the number has no WhatsApp account
OUTSIDE_WINDOW = 63016  # WhatsApp: free text outside the 24-hour window (a template was needed)
# The number itself is bad (invalid, not mobile, nonexistent, landline, not on WhatsApp): stop
# using it on the channel that said so.
SUPPRESS_CODES = frozenset({OPTED_OUT, 21211, 21614, 30005, 30006, NOT_ON_WHATSAPP})
# The sender's queue is full (21611/30001), the account is rate limited (20429) or WhatsApp's
# per-sender limit is reached (63018): try later.
TRANSIENT_CODES = frozenset({21611, 30001, 20429, 63018})


def suppresses(code: int | None) -> bool:
    """Whether a Twilio error code (from a send or a status callback) means: stop using the number."""
    return code in SUPPRESS_CODES
