"""A loopback stand-in for the Telegram Bot API: it records every call and answers as Telegram does.

aiogram posts `{base}/bot{token}/{method}` with form fields (`reply_markup` is a JSON string);
the answer is `{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description",
"parameters"?}`. Run it in the test's event loop (`async with BotApiStandIn()`) or, for a test
that blocks (the e2e process test), on its own thread (`with BotApiStandIn().in_thread()`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.standins.serving import LoopbackServer

BOT_ID = 123456


@dataclass(frozen=True)
class Call:
    """One request the client made: the method, its form fields, and what was answered."""

    method: str
    fields: dict[str, str]
    status: int = 200
    result: Any = None

    @property
    def markup(self) -> Any:
        raw = self.fields.get("reply_markup")
        return json.loads(raw) if raw else None

    @property
    def buttons(self) -> list[list[tuple[str, str]]]:
        """The inline keyboard as rows of (text, callback_data)."""
        rows = (self.markup or {}).get("inline_keyboard", [])
        return [[(b["text"], b["callback_data"]) for b in row] for row in rows]

    def data_for(self, label: str) -> str:
        """The callback data of the button labelled `label`."""
        return next(data for row in self.buttons for text, data in row if text == label)


@dataclass(frozen=True)
class _Failure:
    method: str
    status: int
    description: str
    retry_after: int | None


class BotApiStandIn(LoopbackServer):
    """The Bot API methods surveybot uses, on 127.0.0.1 and a free port."""

    thread_name = "bot-api-standin"

    def __init__(self, *, username: str = "surveybot_test_bot") -> None:
        self.username = username
        self._calls: list[Call] = []
        self._failures: list[_Failure] = []
        self._updates: list[dict[str, Any]] = []
        self._ids = itertools.count(100)
        self._lock = threading.Lock()  # tests on another thread read and queue while we serve
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self._stopping = True  # pending long polls answer now instead of holding up the shutdown
        if self._runner is not None:
            await self._runner.cleanup()

    # What tests arrange and read.

    def fail(
        self,
        status: int,
        description: str,
        *,
        method: str = "sendMessage",
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with this error."""
        with self._lock:
            self._failures += [_Failure(method, status, description, retry_after)] * times

    def queue_update(self, update: dict[str, Any]) -> None:
        """An update for getUpdates to hand out (polling mode)."""
        with self._lock:
            self._updates.append(update)

    def calls(self, *methods: str) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if not methods or c.method in methods]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Block until `count` successful calls of `method` arrived (for tests on another thread)."""
        deadline = time.monotonic() + timeout
        while True:
            done = [c for c in self.calls(method) if c.status == 200]
            if len(done) >= count:
                return done
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(done)} of {count} {method} calls after {timeout} s")
            time.sleep(0.02)

    # The server side.

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        fields = {k: str(v) for k, v in (await request.post()).items()}
        with self._lock:
            failure = next((f for f in self._failures if f.method == method), None)
            if failure is not None:
                self._failures.remove(failure)
                self._calls.append(Call(method, fields, failure.status))
        if failure is not None:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        if method == "getUpdates":
            result = await self._get_updates(fields)
        else:
            result = self._result(method, fields)
        with self._lock:
            self._calls.append(Call(method, fields, 200 if result is not None else 404, result))
        if result is None:
            body = {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
            return web.json_response(body, status=404)
        return _ok(result)

    def _result(self, method: str, fields: dict[str, str]) -> Any:
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Survey", "username": self.username}
        if method in ("answerCallbackQuery", "setWebhook", "deleteWebhook"):
            return True
        if method in ("sendMessage", "editMessageReplyMarkup"):
            message_id = int(fields.get("message_id") or next(self._ids))
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": int(fields["chat_id"]), "type": "private"},
                "text": fields.get("text", ""),
            }
            if "reply_markup" in fields:
                message["reply_markup"] = json.loads(fields["reply_markup"])
            return message
        return None

    async def _get_updates(self, fields: dict[str, str]) -> list[dict[str, Any]]:
        # Long polling: answer as soon as there is something, else after the timeout (capped
        # at 1 s so a stopping server never waits long on a pending poll).
        offset = int(fields.get("offset", 0))
        deadline = time.monotonic() + min(float(fields.get("timeout", 0)), 1.0)
        while True:
            with self._lock:
                # Asking from `offset` confirms every update before it: Telegram forgets them.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                pending = list(self._updates)
            if pending or self._stopping or time.monotonic() >= deadline:
                return pending
            await asyncio.sleep(0.02)


def text_update(update_id: int, chat: int, text: str) -> dict[str, Any]:
    """An update carrying a private-chat text message, as Telegram delivers it."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "Ana"},
            "text": text,
        },
    }


def press_update(update_id: int, sent: Call, label: str) -> dict[str, Any]:
    """An update for a press on the button `label` of the message `sent` (a recorded sendMessage)."""
    chat, data = sent.result["chat"]["id"], sent.data_for(label)
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cq{update_id}",
            "from": {"id": chat, "is_bot": False, "first_name": "Ana"},
            "chat_instance": "ci-1",
            "data": data,
            "message": sent.result,
        },
    }


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})
