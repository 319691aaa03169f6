"""Signing in to the dashboard: an API key exchanged for a signed session cookie, CSRF tokens.

The session cookie is signed (itsdangerous, its own salt, keyed by the instance's secret) and
holds the key's id, the sign-in time and a random nonce; it lasts `SESSION_AGE` from sign-in.
Every request reads the key again, so a revoked key, or one that lost the read scope, ends its
sessions at once. A form's CSRF token is an HMAC of a nonce only the browser's cookie holds: of
the pre-session cookie on the sign-in form, of the session's nonce on the sign-out form.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from bot.runtime.services import Services
from storage.models import ApiKey
from storage.repositories.apikeys import allows
from storage.uow import UnitOfWork

SESSION_COOKIE = "surveybot_dashboard"
SIGNIN_COOKIE = "surveybot_dashboard_signin"
COOKIE_PATH = "/dashboard"
SESSION_AGE = timedelta(hours=12)
SCOPE = "read"
HOME = "/dashboard"
SIGNIN = "/dashboard/signin"
_SALT = "surveybot.dashboard.session"
_NONCE = re.compile(r"[A-Za-z0-9_-]{32}")
_MAX_NEXT = 2000


class _ClockSigner(TimestampSigner):
    """Timestamps from the service's clock, so a session's age is measured as everything else."""

    def __init__(self, *args: Any, clock: Callable[[], datetime], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock().timestamp())


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: the key it signed in with, when, and its CSRF nonce."""

    key_id: int
    signed_in: datetime
    nonce: str


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The session of this request with its key, read again from the database."""

    session: Session
    key: ApiKey
    csrf: str


def _serializer(services: Services) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        services.secret,
        salt=_SALT,
        signer=_ClockSigner,
        signer_kwargs={"clock": services.clock},
    )


def new_nonce() -> str:
    return secrets.token_urlsafe(24)  # 32 characters


def _mac(services: Services, purpose: str, nonce: str) -> str:
    message = f"surveybot.dashboard.{purpose}:{nonce}".encode()
    return hmac.new(services.secret.encode(), message, hashlib.sha256).hexdigest()


def signin_token(services: Services, nonce: str) -> str:
    """The sign-in form's token, bound to the pre-session cookie's nonce."""
    return _mac(services, "signin", nonce)


def session_token(services: Services, session: Session) -> str:
    """The token of the forms a signed-in page posts (sign-out), bound to the session."""
    return _mac(services, "session", session.nonce)


def token_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def signin_nonce(request: Request) -> str | None:
    """The pre-session cookie's nonce, when the browser sent a well-formed one."""
    value = request.cookies.get(SIGNIN_COOKIE)
    return value if value is not None and _NONCE.fullmatch(value) else None


def issue(services: Services, key_id: int, now: datetime) -> str:
    """A new session cookie's value for a key that just signed in."""
    payload = {"k": key_id, "t": int(now.timestamp()), "n": new_nonce()}
    return str(_serializer(services).dumps(payload))


def read_session(services: Services, value: str | None) -> Session | None:
    """The session a cookie holds, if its signature is good and it is not too old."""
    if not value or len(value) > 1000:
        return None
    age = int(SESSION_AGE.total_seconds())
    try:
        payload = _serializer(services).loads(value, max_age=age)
    except BadSignature:  # tampered, foreign or expired (SignatureExpired is one)
        return None
    if not isinstance(payload, dict):
        return None
    key_id, started, nonce = payload.get("k"), payload.get("t"), payload.get("n")
    if not (isinstance(key_id, int) and isinstance(started, int) and isinstance(nonce, str)):
        return None
    signed_in = datetime.fromtimestamp(started, tz=UTC)
    if not timedelta(0) <= services.clock() - signed_in <= SESSION_AGE:
        return None
    return Session(key_id=key_id, signed_in=signed_in, nonce=nonce)


async def signed_in(request: Request, services: Services, uow: UnitOfWork) -> SignedIn | None:
    """This request's session, if it has one whose key still exists, is not revoked and may read."""
    session = read_session(services, request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    key = await uow.api_keys.get(session.key_id)
    if key is None or key.revoked_at is not None or not allows(key, SCOPE):
        return None
    return SignedIn(session=session, key=key, csrf=session_token(services, session))


def secure(services: Services) -> bool:
    return (services.settings.public_url or "").startswith("https://")


def set_session(response: Response, services: Services, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(SESSION_AGE.total_seconds()),
        path=COOKIE_PATH,
        secure=secure(services),
        httponly=True,
        samesite="lax",
    )


def set_signin_nonce(response: Response, services: Services, nonce: str) -> None:
    response.set_cookie(
        SIGNIN_COOKIE,
        nonce,
        max_age=int(SESSION_AGE.total_seconds()),
        path=COOKIE_PATH,
        secure=secure(services),
        httponly=True,
        samesite="lax",
    )


def clear(response: Response, services: Services, name: str) -> None:
    response.delete_cookie(
        name, path=COOKIE_PATH, secure=secure(services), httponly=True, samesite="lax"
    )


def local_next(value: str | None) -> str:
    """Where to go after signing in: a path of the dashboard on this host, else its home.

    Only `/dashboard`, `/dashboard/…` or `/dashboard?…` are kept, without a scheme, a host,
    backslashes or control characters, so the parameter cannot send anyone elsewhere.
    """
    if not value or len(value) > _MAX_NEXT:
        return HOME
    if "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//"):
        return HOME
    if not (parts.path == HOME or parts.path.startswith(HOME + "/")):
        return HOME
    if parts.path.startswith((SIGNIN, HOME + "/signout")) or "/../" in parts.path + "/":
        return HOME
    return value


def signin_url(next_path: str) -> str:
    target = local_next(next_path)
    return SIGNIN if target == HOME else f"{SIGNIN}?next={quote(target, safe='/')}"


def requested_path(request: Request) -> str:
    """The path and query this request asked for, as sent (undecoded)."""
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    path = raw.decode("latin-1")
    return path + ("?" + query.decode("latin-1") if query else "")
