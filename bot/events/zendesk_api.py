"""Zendesk's ticket API as the write-back uses it: look for a note by its marker, add a note.

`PUT /api/v2/tickets/{id}.json` appends a comment every time it is called, so an attempt first
reads the ticket's comments (`GET /api/v2/tickets/{id}/comments.json`, cursor pages of 100) and
counts a note already carrying the marker as written: a retry after a timeout that Zendesk did
process, or after a process died before recording its result, adds nothing. Basic auth as
`{email}/token:{api_token}`, which is how Zendesk takes API tokens.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from bot.events import policy
from bot.events.delivering import Attempt

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# A whole attempt (the comment pages and the PUT) ends well inside the deliverer's lease, so
# that no other process takes the delivery over while this one may still write.
BUDGET = 40.0
LEASE_MARGIN = 5.0
PAGE_SIZE = 100
MAX_PAGES = 50  # Zendesk keeps at most 5000 comments on a ticket
USER_AGENT = "surveybot-writeback/1"

log = logging.getLogger("bot.events")


@dataclass(frozen=True, slots=True)
class ZendeskAccount:
    """Where the tickets are (https://acme.zendesk.com) and as whom surveybot writes."""

    base: str
    email: str
    token: str = field(repr=False)


class ZendeskApi:
    """The two calls of a write-back, each answer turned into an `Attempt` for the policy."""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        account: ZendeskAccount,
        clock: Callable[[], datetime],
        timeout: httpx.Timeout | float = TIMEOUT,
        budget: float = BUDGET,
    ) -> None:
        self._client = client
        self._base = account.base.rstrip("/")
        self._auth = httpx.BasicAuth(f"{account.email}/token", account.token)
        self._clock = clock
        self._timeout = timeout
        self._budget = budget

    async def write_note(
        self, ticket_id: str, body: str, marker: str, *, lease_until: datetime | None = None
    ) -> Attempt:
        """Add the note `body` (a ticket update) to the ticket, unless one carrying `marker` is
        there already; either way a 2xx attempt means the ticket has the note. The attempt
        ends before `lease_until` (the delivery's lease), or is not begun."""
        budget = self._budget
        if lease_until is not None:
            budget = min(budget, (lease_until - self._clock()).total_seconds() - LEASE_MARGIN)
        if budget <= 0:  # queued behind slow deliveries of its batch: its lease is nearly over
            return Attempt(status=None, error="not tried: its lease was nearly over")
        try:
            async with asyncio.timeout(budget):
                found = await self._has_note(ticket_id, marker)
                if isinstance(found, Attempt):
                    return found
                if found:
                    log.info(
                        "zendesk ticket %s has note %s already: not added again", ticket_id, marker
                    )
                    return Attempt(status=200)
                answer = await self._call(
                    "PUT", f"/api/v2/tickets/{ticket_id}.json", ticket_id, content=body.encode()
                )
                return answer if isinstance(answer, Attempt) else Attempt(answer.status_code)
        except TimeoutError:
            return Attempt(status=None, error="timed out")

    async def _has_note(self, ticket_id: str, marker: str) -> bool | Attempt:
        path = f"/api/v2/tickets/{ticket_id}/comments.json"
        params: dict[str, str | int] = {"page[size]": PAGE_SIZE}
        for _ in range(MAX_PAGES):
            answer = await self._call("GET", path, ticket_id, params=params)
            if isinstance(answer, Attempt):
                return answer
            try:
                page = answer.json()
                comments = page["comments"]
                meta = page.get("meta") or {}
            except (ValueError, KeyError, TypeError, AttributeError):
                return Attempt(status=None, error="Zendesk's list of comments could not be read")
            if any(_carries(comment, marker) for comment in comments):
                return True
            cursor = meta.get("after_cursor")
            if not meta.get("has_more") or not cursor:
                return False
            params = {"page[size]": PAGE_SIZE, "page[after]": str(cursor)}
        return False

    async def _call(
        self, method: str, path: str, ticket_id: str, **kwargs: Any
    ) -> httpx.Response | Attempt:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if method == "PUT":
            headers["Content-Type"] = "application/json"
        try:
            answer = await self._client.request(
                method,
                self._base + path,
                auth=self._auth,
                headers=headers,
                timeout=self._timeout,
                **kwargs,
            )
        except httpx.TimeoutException:
            return Attempt(status=None, error="timed out")
        except httpx.HTTPError as exc:
            return Attempt(status=None, error=f"could not connect: {type(exc).__name__}")
        if answer.is_success:
            return answer
        retry_after = policy.retry_after_seconds(answer.headers.get("Retry-After"), self._clock())
        return Attempt(
            status=answer.status_code,
            error=_explain(answer, ticket_id),
            retry_after=retry_after,
        )


def _carries(comment: Any, marker: str) -> bool:
    if not isinstance(comment, dict):
        return False
    return any(
        isinstance(comment.get(name), str) and marker in comment[name]
        for name in ("body", "plain_body", "html_body")
    )


def _explain(answer: httpx.Response, ticket_id: str) -> str:
    """An error in words: what a status usually means here, and Zendesk's own reason if any."""
    status = answer.status_code
    if status == 401:
        return (
            "HTTP 401: Zendesk refused the credentials; check SURVEYBOT_ZENDESK_EMAIL and"
            " SURVEYBOT_ZENDESK_API_TOKEN (and that token access is on)"
        )
    if status == 403:
        return f"HTTP 403: the Zendesk user may not update ticket {ticket_id}"
    if status == 404:
        return f"HTTP 404: Zendesk has no ticket {ticket_id}"
    reason = _reason(answer)
    return f"HTTP {status}: {reason}" if reason else f"HTTP {status}"


def _reason(answer: httpx.Response) -> str | None:
    """Zendesk's error JSON: `{"error", "description", "details": {field: [{"description"}]}}`."""
    try:
        error = answer.json()
    except ValueError:
        return None
    if not isinstance(error, dict):
        return None
    details = error.get("details")
    if isinstance(details, dict):
        for problems in details.values():
            if isinstance(problems, list) and problems and isinstance(problems[0], dict):
                described = problems[0].get("description")
                if isinstance(described, str):
                    return described[:200]
    for name in ("description", "error"):
        if isinstance(error.get(name), str):
            return str(error[name])[:200]
    return None
