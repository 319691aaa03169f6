"""Signed, expiring, purpose-scoped tokens for the links in survey emails: rate, unsubscribe."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from channels.web import InvalidLink

RATE_SALT = "surveybot.email.rate"
UNSUBSCRIBE_SALT = "surveybot.email.unsubscribe"
# Unsubscribe links must keep working in old emails long after the survey closed.
UNSUBSCRIBE_MAX_AGE = 400 * 24 * 3600


class EmailLinks:
    """Signs the per-purpose tokens of email links and reads them back."""

    def __init__(self, *, secret: str, base_url: str) -> None:
        self._rate = URLSafeTimedSerializer(secret, salt=RATE_SALT)
        self._unsubscribe = URLSafeTimedSerializer(secret, salt=UNSUBSCRIBE_SALT)
        self._base_url = base_url.rstrip("/")

    def rate_token(self, invitation_id: str) -> str:
        return self._rate.dumps(invitation_id)

    def rate_url(self, token: str, score: int | str) -> str:
        return f"{self._base_url}/r/{token}?score={score}"

    def unsubscribe_url(self, contact_id: int) -> str:
        return f"{self._base_url}/u/{self._unsubscribe.dumps([contact_id, 'email'])}"

    def open_rate(self, token: str, *, max_age_seconds: int) -> str:
        """The invitation id inside a rating token, or InvalidLink."""
        value = _load(self._rate, token, max_age_seconds)
        if not isinstance(value, str):
            raise InvalidLink("the link is not valid")
        return value

    def open_unsubscribe(self, token: str) -> int:
        """The contact id inside an unsubscribe token, or InvalidLink."""
        value = _load(self._unsubscribe, token, UNSUBSCRIBE_MAX_AGE)
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not isinstance(value[0], int)
            or value[1] != "email"
        ):
            raise InvalidLink("the link is not valid")
        return value[0]


def _load(serializer: URLSafeTimedSerializer, token: str, max_age: int) -> Any:
    try:
        return serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise InvalidLink("the link has expired", expired=True) from exc
    except BadSignature as exc:
        raise InvalidLink("the link is not valid") from exc
