"""The errors surveybot raises for requests it refuses; bot.http maps them to answers, once.

    ServiceError              base: a refused request, with the HTTP status it maps to
    ├── BadRequest            raised when a body cannot be read at all (400)
    ├── Unauthorized          raised when a credential is missing or wrong: API key, signature (401)
    ├── Forbidden             raised when a webhook's shared secret or signature does not match,
    │                         or an API key lacks the scope a route needs (403)
    ├── NotFound              raised when a named survey, contact, invitation, link or a channel
    │                         that is off does not exist here (404)
    ├── Conflict              raised when the thing exists but its state forbids the request (409)
    ├── Gone                  raised when a link was good but has expired or its survey was
    │                         withdrawn (410)
    ├── PayloadTooLarge       raised when a body is larger than the route takes (413)
    ├── Unprocessable         raised when a well-formed request cannot be carried out (422)
    ├── TooManyRequests       raised when an address failed authentication too often (429)
    └── UpstreamFailed        raised when a provider call the request needs failed (502)

Every error carries a sentence (`message`) and, where one field is to blame, its name
(`field`); an answer is JSON `{"detail": message, "field": field}` unless the raiser gave a
`page` (HTML, for the pages people open from a message) and `headers`. `extra` adds keys to the
JSON body (the web chat page's own texts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ServiceError(Exception):
    """Raised for a refused request; `status` is the HTTP status code it maps to."""

    status = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
        page: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers = dict(headers or {})
        self.page = page
        self.extra = dict(extra or {})


class BadRequest(ServiceError):
    """Raised when a body cannot be read at all (not JSON, not the provider's shape)."""

    status = 400


class Unauthorized(ServiceError):
    """Raised when a credential is missing or wrong: an API key, a webhook signature."""

    status = 401


class Forbidden(ServiceError):
    """Raised when a webhook's secret or signature does not match, or a key lacks a scope."""

    status = 403


class NotFound(ServiceError):
    """Raised when a named survey, contact, invitation, link or channel does not exist here."""

    status = 404


class Conflict(ServiceError):
    """Raised when the thing exists but its state forbids the request (cancel after sending)."""

    status = 409


class Gone(ServiceError):
    """Raised when a link was good but has expired, or its survey was withdrawn."""

    status = 410


class PayloadTooLarge(ServiceError):
    """Raised when a body is larger than the route takes."""

    status = 413


class Unprocessable(ServiceError):
    """Raised when a request is well formed but cannot be carried out; names the field."""

    status = 422


class TooManyRequests(ServiceError):
    """Raised when an address failed authentication too often; `Retry-After` says how long."""

    status = 429


class UpstreamFailed(ServiceError):
    """Raised when a provider call the request needs failed (Telegram's getMe, say)."""

    status = 502
