"""Twilio's error codes that decide what happens to a number: light, for callers without twilio."""

from __future__ import annotations

# Twilio error codes (https://www.twilio.com/docs/api/errors).
OPTED_OUT = 21610  # the recipient replied STOP: never send again until they opt back in
# The number itself is bad (invalid, not mobile, nonexistent, landline): stop using it.
SUPPRESS_CODES = frozenset({OPTED_OUT, 21211, 21614, 30005, 30006})
# The sender's queue is full (21611/30001) or the account is rate limited (20429): try later.
TRANSIENT_CODES = frozenset({21611, 30001, 20429})


def suppresses(code: int | None) -> bool:
    """Whether a Twilio error code (from a send or a status callback) means: stop using the number."""
    return code in SUPPRESS_CODES
