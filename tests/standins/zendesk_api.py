"""A loopback stand-in for the two Zendesk ticket endpoints the write-back calls.

`PUT /api/v2/tickets/{id}.json` with `{"ticket": {"comment": {...}, "additional_tags": [...]}}`
appends the comment and adds the tags, as Zendesk does on every call; `GET
/api/v2/tickets/{id}/comments.json` lists the comments, oldest first, in cursor pages
(`page[size]`, `page[after]`; `meta.has_more`, `meta.after_cursor`). Both check Basic auth as
`{email}/token:{api_token}` (401 otherwise) and answer 404 for a ticket not opened with
`open_ticket`. Tests script answers: errors instead of the next PUTs or GETs, or a PUT that is
applied and then answered too late for the client (its timeout).
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.standins.serving import LoopbackServer


@dataclass(frozen=True)
class Answer:
    """A scripted answer: an error status (with headers), or `stall` seconds after applying."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0


@dataclass
class Ticket:
    comments: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """The bodies of the internal notes."""
        return [c["body"] for c in self.comments if c["public"] is False]


@dataclass(frozen=True)
class Call:
    method: str
    ticket_id: int
    status: int


class ZendeskStandIn(LoopbackServer):
    """The ticket endpoints on 127.0.0.1 and a free port, for one API user."""

    thread_name = "zendesk-standin"

    def __init__(self, *, email: str, token: str) -> None:
        self.email = email
        self.token = token
        self.url = ""
        self.tickets: dict[int, Ticket] = {}
        self._puts: deque[Answer] = deque()
        self._gets: deque[Answer] = deque()
        self._calls: list[Call] = []
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self._next_comment = 1000

    def open_ticket(self, ticket_id: int, *comments: str) -> Ticket:
        """A ticket that exists, with these public comments on it already."""
        ticket = Ticket()
        for text in comments:
            ticket.comments.append(self._comment(text, public=True))
        self.tickets[ticket_id] = ticket
        return ticket

    def script_puts(self, *answers: Answer) -> None:
        with self._lock:
            self._puts.extend(answers)

    def script_gets(self, *answers: Answer) -> None:
        with self._lock:
            self._gets.extend(answers)

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_put("/api/v2/tickets/{id:[0-9]+}.json", self._update)
        app.router.add_get("/api/v2/tickets/{id:[0-9]+}/comments.json", self._comments)
        self._runner = web.AppRunner(app, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # The server side.

    async def _update(self, request: web.Request) -> web.Response:
        ticket_id = int(request.match_info["id"])
        refused = self._refusal(request, ticket_id, self._puts)
        if isinstance(refused, web.Response):
            return refused
        body = await request.json()
        update = body["ticket"]
        comment = update.get("comment")
        with self._lock:
            ticket = self.tickets[ticket_id]
            if comment is not None:
                ticket.comments.append(self._comment(comment["body"], public=comment["public"]))
            for tag in update.get("additional_tags", []):
                if tag not in ticket.tags:
                    ticket.tags.append(tag)
        if refused.stall:  # applied, but the answer comes after the client gave up
            await asyncio.sleep(refused.stall)
        return web.json_response({"ticket": {"id": ticket_id, "tags": ticket.tags}})

    async def _comments(self, request: web.Request) -> web.Response:
        ticket_id = int(request.match_info["id"])
        refused = self._refusal(request, ticket_id, self._gets)
        if isinstance(refused, web.Response):
            return refused
        with self._lock:
            comments = list(self.tickets[ticket_id].comments)
        size = int(request.query.get("page[size]", "100"))
        start = int(request.query.get("page[after]", "0"))
        page = comments[start : start + size]
        more = start + size < len(comments)
        cursor = str(start + size) if more else None
        return web.json_response(
            {
                "comments": page,
                "meta": {"has_more": more, "after_cursor": cursor, "before_cursor": None},
                "links": {"next": None, "prev": None},
            }
        )

    def _refusal(
        self, request: web.Request, ticket_id: int, script: deque[Answer]
    ) -> web.Response | Answer:
        """The error this request gets, or the (successful) answer it goes on to."""
        with self._lock:
            answer = script.popleft() if script else Answer()
            if not self._authorized(request):
                status, error = 401, {"error": "Couldn't authenticate you"}
            elif ticket_id not in self.tickets:
                status, error = 404, {"error": "RecordNotFound", "description": "Not found"}
            elif answer.status >= 300:
                status, error = answer.status, {"error": "scripted", "description": "as told"}
            else:
                self._calls.append(Call(request.method, ticket_id, 200))
                return answer
            self._calls.append(Call(request.method, ticket_id, status))
        return web.json_response(error, status=status, headers=answer.headers)

    def _authorized(self, request: web.Request) -> bool:
        pair = f"{self.email}/token:{self.token}".encode()
        return request.headers.get("Authorization") == f"Basic {base64.b64encode(pair).decode()}"

    def _comment(self, body: str, *, public: bool) -> dict[str, Any]:
        self._next_comment += 1
        return {
            "id": self._next_comment,
            "type": "Comment",
            "body": body,
            "plain_body": body,
            "public": public,
            "author_id": 1,
        }
