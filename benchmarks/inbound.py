"""Signed Twilio SMS webhooks per second against a real `surveybot serve`, beside a bare INSERT endpoint.

What it measures
    For each backend in turn (a fresh SQLite file; a fresh database on the PostgreSQL server at
    127.0.0.1:5432, user postgres, dropped afterwards):

    Set-up (not timed). A stand-in of Twilio's Messages endpoint runs on a loopback port (its
    own thread). `surveybot serve` starts with the SMS channel pointed at it, loads one CSAT
    survey (`throttle_days: 0`), creates an API key and triggers N SMS invitations (one phone
    number each); the dispatcher sends the N questions through twilio's client to the stand-in,
    and the run waits (bounded) until the database holds N invitations `sent` (the SMS send rate,
    the outbox's idle polling and the campaign scheduler are switched off: not under test, and
    the pollers' CPU is per second, not per answer). Every webhook body is built and signed
    (X-Twilio-Signature over the public URL, twilio's RequestValidator) before the clock starts.

    Timed phase, surveybot (closed loop): C concurrent clients (asyncio, one httpx.AsyncClient
    with C keep-alive connections) walk the conversations: POST /webhooks/twilio/sms with the
    score, then with a comment. Each POST is one "answer", a real conversation step: signature
    check, inbound stored once, state advanced, reply committed, TwiML returned. Its latency is
    time.perf_counter() around the request. An answer must be 200 with exactly one <Message>;
    anything else counts as an error. Afterwards GET /api/v1/responses must hold exactly one
    response per walked conversation.

    Timed phase, bare (the same run, the same machine, the same database backend): a Starlette
    app under uvicorn, on the same async engine settings (storage.database.create_engine), whose
    one endpoint parses the same form bodies, does ONE INSERT (unique on MessageSid) and returns
    an empty TwiML document. The same load, the same C. `ratio` = surveybot answers/s ÷ bare
    answers/s is the figure that counts (the issue's aim: at least 0.5).

    With `--rate R` an open-loop phase follows on both (surveybot on another N conversations):
    answers issued on a fixed schedule of R/s (conversation i's score at i*2/R, its comment at
    (i*2+1)/R or once its score was answered); the issue's aim is p99 < 100 ms at 500/s.

    The client shares the machine's CPUs with the servers and the database: a lower bound.

How to run
    .venv/bin/python benchmarks/inbound.py [--conversations N] [--concurrency C]
        [--backends sqlite,postgresql] [--duration-cap SECONDS] [--rate ANSWERS_PER_S]

    Prints ONE JSON line on stdout; progress goes to stderr. Defaults: N=500 (1000 answers),
    C=32, both backends, a 60 s cap on each timed phase (no new work is issued after it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from aiohttp import web
from bench_common import (
    COMMENTS,
    REQUEST_TIMEOUT,
    SETUP_CONCURRENCY,
    STARTUP_TIMEOUT,
    SURVEY_KEY,
    SURVEY_YAML,
    SURVEYBOT,
    BackendUnavailable,
    Server,
    backend_database,
    free_port,
    logger,
    percentile,
    tree_cpu_seconds,
)
from twilio.request_validator import RequestValidator

info = logger("inbound")

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "bench-twilio-auth-token"
SENDER = "+15005550006"
PUBLIC_URL = "https://bench.example.com"  # what Twilio would call; signatures cover it
PATH = "/webhooks/twilio/sms"
SEND_TIMEOUT = 120.0

BARE_APP = '''\
"""A bare endpoint: parse the webhook form, one INSERT, an empty TwiML answer."""
import asyncio
import contextlib
import os
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from storage.database import create_engine, is_sqlite


EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'
INSERT = text("INSERT INTO bare_inbound (sid, sender, body, received_at) VALUES (:s, :f, :b, :t)")
state = {}


async def inbound(request):
    form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
    values = {"s": form["MessageSid"], "f": form["From"], "b": form["Body"], "t": datetime.now(UTC)}
    async with state["lock"]:
        async with state["engine"].begin() as conn:
            await conn.execute(INSERT, values)
    return Response(EMPTY, media_type="application/xml")


async def healthz(request):
    return Response("ok")


@contextlib.asynccontextmanager
async def lifespan(app):
    engine = create_engine(os.environ["BARE_DATABASE_URL"])
    sqlite = is_sqlite(engine)
    # SQLite has one writer: queue writes in order, as surveybot's sessions do.
    state.update(engine=engine, lock=asyncio.Lock() if sqlite else contextlib.nullcontext())
    key = "INTEGER PRIMARY KEY" if sqlite else "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    async with engine.begin() as conn:
        await conn.execute(text(
            f"CREATE TABLE IF NOT EXISTS bare_inbound (id {key}, sid VARCHAR(64) UNIQUE, "
            "sender VARCHAR(32), body TEXT, received_at TIMESTAMP WITH TIME ZONE)"
        ))
    yield
    await engine.dispose()


routes = [Route("/webhooks/twilio/sms", inbound, methods=["POST"]), Route("/healthz", healthz)]
app = Starlette(routes=routes, lifespan=lifespan)
'''


# --------------------------------------------------------------------------- the Twilio side


class MessagesStandIn:
    """Twilio's Messages endpoint, just enough for the dispatcher to send the questions."""

    def __init__(self) -> None:
        self.accepted = 0
        self.url = ""

    async def _create(self, request: web.Request) -> web.Response:
        fields = await request.post()
        self.accepted += 1
        sid = "SM" + uuid.uuid4().hex
        body = {"sid": sid, "status": "queued", "to": fields.get("To"), "body": fields.get("Body")}
        return web.json_response(body, status=201)

    @contextmanager
    def in_thread(self) -> Iterator[MessagesStandIn]:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="twilio-standin", daemon=True)
        thread.start()
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        runner = web.AppRunner(app, shutdown_timeout=1)

        async def start() -> None:
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"

        try:
            asyncio.run_coroutine_threadsafe(start(), loop).result(10)
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()


def phone(i: int) -> str:
    return f"+14152{i:06d}"


@dataclass(frozen=True)
class Webhook:
    """One inbound SMS as Twilio posts it: the form body and its signature."""

    body: bytes
    signature: str


def webhook(validator: RequestValidator, i: int, text: str) -> Webhook:
    sid = "SM" + uuid.uuid4().hex
    form = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": ACCOUNT,
        "From": phone(i),
        "To": SENDER,
        "Body": text,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    signature = validator.compute_signature(PUBLIC_URL + PATH, form)
    return Webhook(urlencode(form).encode(), signature)


def conversations(first: int, count: int) -> list[tuple[Webhook, Webhook]]:
    """Score and comment webhooks for conversations first..first+count-1, signed up front."""
    validator = RequestValidator(TOKEN)
    return [
        (
            webhook(validator, i, str(1 + i % 5)),
            webhook(validator, i, COMMENTS[i % len(COMMENTS)]),
        )
        for i in range(first, first + count)
    ]


# --------------------------------------------------------------------------- the processes


def start(command: list[str], env: dict[str, str], workdir: Path, name: str, port: int) -> Server:
    """A server process on a loopback port; waits until its /healthz answers 200 (30 s)."""
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir
        )
    server = Server(f"http://127.0.0.1:{port}", env, process, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            # Ours only: another process may have taken the free port first.
            ok = httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200
            if ok and process.poll() is None:
                return server
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{name} did not start:\n{server.log_tail()}")
        time.sleep(0.1)


def start_surveybot(database_url: str, workdir: Path, twilio_url: str) -> Server:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEYBOT_")}
    env.update(
        SURVEYBOT_DATABASE_URL=database_url,
        SURVEYBOT_LOG_LEVEL="WARNING",
        SURVEYBOT_SECRET_KEY=secrets.token_urlsafe(24),
        SURVEYBOT_PUBLIC_URL=PUBLIC_URL,
        SURVEYBOT_TWILIO_ACCOUNT_SID=ACCOUNT,
        SURVEYBOT_TWILIO_AUTH_TOKEN=TOKEN,
        SURVEYBOT_TWILIO_FROM_NUMBER=SENDER,
        SURVEYBOT_TWILIO_API_BASE=twilio_url,
        # Not under test: the SMS send rate (1/s by default) would hold the set-up for minutes.
        SURVEYBOT_SMS_RATE_PER_SECOND="0",
        # Nor the idle polling of the outbox (twice a second; each trigger wakes it anyway) and
        # of the campaign scheduler: CPU per second, not per answer, counted in the answers'.
        SURVEYBOT_DISPATCH_INTERVAL_SECONDS="5",
        SURVEYBOT_SCHEDULER="false",
    )
    command = [SURVEYBOT, "serve", "--host", "127.0.0.1", "--port", str(port)]
    return start(command, env, workdir, "surveybot", port)


def start_bare(database_url: str, workdir: Path) -> Server:
    port = free_port()
    (workdir / "bare_app.py").write_text(BARE_APP)
    env = {**os.environ, "BARE_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "uvicorn", "bare_app:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    return start(command, env, workdir, "bare", port)


# --------------------------------------------------------------------------- the load


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    conversations: int = 0
    first_error: str | None = None

    def error(self, what: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or what

    def figures(self, seconds: float) -> dict[str, Any]:
        lat = sorted(self.latencies)
        out: dict[str, Any] = {
            "answers": len(lat),
            "seconds": round(seconds, 3),
            "answers_per_s": round(len(lat) / seconds, 1) if seconds > 0 else None,
            "errors": self.errors,
        }
        for p in (50, 90, 99):
            out[f"p{p}_ms"] = round(percentile(lat, p) * 1000, 1) if lat else None
        out["max_ms"] = round(lat[-1] * 1000, 1) if lat else None
        if self.first_error:
            out["first_error"] = self.first_error[:300]
        return out


Post = Callable[[Webhook, Tally, int], Awaitable[bool]]


def poster(client: httpx.AsyncClient) -> Post:
    async def post(hook: Webhook, tally: Tally, messages: int) -> bool:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": hook.signature,
        }
        started = time.perf_counter()
        try:
            resp = await client.post(PATH, content=hook.body, headers=headers)
        except httpx.HTTPError as exc:
            tally.latencies.append(time.perf_counter() - started)
            tally.error(f"{type(exc).__name__}: {exc}")
            return False
        tally.latencies.append(time.perf_counter() - started)
        if resp.status_code != 200 or resp.text.count("<Message>") != messages:
            tally.error(f"HTTP {resp.status_code}: {resp.text[:200]}")
            return False
        return True

    return post


async def closed_loop(
    post: Post, walks: list[tuple[Webhook, Webhook]], concurrency: int, cap: float, replies: int
) -> tuple[Tally, float]:
    """C workers walk conversations (score, then comment); `replies` <Message>s expected each."""
    tally = Tally()
    queue = list(reversed(walks))
    started = time.perf_counter()
    deadline = started + cap

    async def worker() -> None:
        while queue and time.perf_counter() < deadline:
            score, comment = queue.pop()
            tally.conversations += 1
            if await post(score, tally, replies):
                await post(comment, tally, replies)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally, time.perf_counter() - started


async def open_loop(
    post: Post, walks: list[tuple[Webhook, Webhook]], rate: float, cap: float, replies: int
) -> tuple[Tally, float]:
    """Answers on a fixed schedule of `rate`/s, whether or not earlier ones were answered."""
    tally = Tally()
    loop = asyncio.get_running_loop()
    t0, interval = loop.time() + 0.05, 1.0 / rate

    async def at(when: float) -> None:
        if when > loop.time():
            await asyncio.sleep(when - loop.time())

    async def conversation(i: int, score: Webhook, comment: Webhook) -> None:
        await at(t0 + 2 * i * interval)
        if await post(score, tally, replies):
            await at(t0 + (2 * i + 1) * interval)
            await post(comment, tally, replies)

    tasks = []
    started = time.perf_counter()
    for i, (score, comment) in enumerate(walks):
        if t0 + 2 * i * interval - loop.time() > 0.02:
            await asyncio.sleep(t0 + 2 * i * interval - loop.time() - 0.01)
        if time.perf_counter() - started > cap:
            break
        tally.conversations += 1
        tasks.append(asyncio.create_task(conversation(i, score, comment)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=cap + 4 * REQUEST_TIMEOUT)
    return tally, time.perf_counter() - started


def client_for(url: str, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(REQUEST_TIMEOUT, pool=REQUEST_TIMEOUT)
    return httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout)


async def measure(
    server: Server, walks: list[tuple[Webhook, Webhook]], args: argparse.Namespace, replies: int
) -> tuple[dict[str, Any], int]:
    """The closed loop on `walks`; returns the figures and the conversations walked."""
    async with client_for(server.url, args.concurrency) as client:
        cpu_before = tree_cpu_seconds(server.process.pid)
        own_before = time.process_time()
        tally, seconds = await closed_loop(
            poster(client), walks, args.concurrency, args.duration_cap, replies
        )
        server_cpu = tree_cpu_seconds(server.process.pid) - cpu_before
        client_cpu = time.process_time() - own_before
    result = tally.figures(seconds)
    if tally.latencies:
        result["server_cpu_ms_per_answer"] = round(1000 * server_cpu / len(tally.latencies), 2)
        result["client_cpu_ms_per_answer"] = round(1000 * client_cpu / len(tally.latencies), 2)
    return result, tally.conversations


async def measure_open(
    server: Server, walks: list[tuple[Webhook, Webhook]], args: argparse.Namespace, replies: int
) -> tuple[dict[str, Any], int]:
    async with client_for(server.url, args.concurrency * 4) as client:
        tally, seconds = await open_loop(
            poster(client), walks, args.rate, args.duration_cap, replies
        )
    return {"rate": args.rate, **tally.figures(seconds)}, tally.conversations


async def trigger_all(server: Server, api_key: str, count: int) -> None:
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)
    headers = {"Authorization": f"Bearer {api_key}"}
    async with client_for(server.url, SETUP_CONCURRENCY) as client:

        async def one(i: int) -> None:
            body = {
                "survey": SURVEY_KEY,
                "channel": "sms",
                "contact": {"external_id": f"bench-{i}", "phone": phone(i), "locale": "en"},
            }
            async with gate:
                resp = await client.post("/api/v1/triggers", json=body, headers=headers)
            if resp.status_code != 202 or resp.json().get("status") != "scheduled":
                raise RuntimeError(f"trigger {i}: HTTP {resp.status_code} {resp.text[:300]}")

        await asyncio.gather(*(one(i) for i in range(count)))


async def sent_invitations(database_url: str) -> int:
    sql = "SELECT count(*) FROM invitation WHERE status = 'sent'"
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[1]
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as conn:
            return int(conn.execute(sql).fetchone()[0])
    import asyncpg  # a dependency of surveybot's PostgreSQL support

    conn = await asyncpg.connect(database_url, timeout=5)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def wait_until_sent(database_url: str, count: int) -> None:
    """Every question out and recorded (a reply to an unsent one would find no conversation)."""
    deadline = time.monotonic() + SEND_TIMEOUT
    while (sent := await sent_invitations(database_url)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {sent} of {count} questions sent in {SEND_TIMEOUT:.0f}s")
        await asyncio.sleep(0.2)


async def stored(server: Server, api_key: str, expected: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {api_key}"}
    ids: list[str] = []
    async with client_for(server.url, 1) as client:
        for page in range(expected // 1000 + 5):  # bounded: a few pages more than expected
            resp = await client.get(
                "/api/v1/responses",
                params={"survey": SURVEY_KEY, "limit": 1000, "offset": page * 1000},
                headers=headers,
            )
            resp.raise_for_status()
            data = resp.json()["data"]
            ids.extend(r["invitation_id"] for r in data)
            if len(data) < 1000:
                break
    return {"stored_responses": len(ids), "duplicates": len(ids) - len(set(ids))}


# --------------------------------------------------------------------------- the backends


def run_surveybot(
    url: str, workdir: Path, args: argparse.Namespace, walks: list[tuple[Webhook, Webhook]]
) -> dict[str, Any]:
    sets = 2 if args.rate else 1
    with MessagesStandIn().in_thread() as twilio:
        server = start_surveybot(url, workdir, twilio.url)
        try:
            (workdir / "surveys.yaml").write_text(SURVEY_YAML)
            server.cli("surveys", "load", str(workdir / "surveys.yaml"))
            api_key = server.cli("apikey", "create", "bench").strip().splitlines()[-1].strip()
            t = time.perf_counter()
            asyncio.run(trigger_all(server, api_key, len(walks)))
            asyncio.run(wait_until_sent(url, len(walks)))
            info(f"  {len(walks)} questions sent in {time.perf_counter() - t:.1f}s")
            n = args.conversations
            result, walked = asyncio.run(measure(server, walks[:n], args, 1))
            info(f"  surveybot closed loop: {json.dumps(result)}")
            if sets == 2:
                open_result, more = asyncio.run(measure_open(server, walks[n:], args, 1))
                result["open_loop"] = open_result
                walked += more
                info(f"  surveybot open loop: {json.dumps(open_result)}")
            result.update(asyncio.run(stored(server, api_key, walked)))
            result["expected_responses"] = walked
            return result
        except Exception:
            info(server.log_tail())
            raise
        finally:
            server.stop()


def run_bare(
    url: str, workdir: Path, args: argparse.Namespace, walks: list[tuple[Webhook, Webhook]]
) -> dict[str, Any]:
    server = start_bare(url, workdir)
    try:
        n = args.conversations
        result, _ = asyncio.run(measure(server, walks[:n], args, 0))
        info(f"  bare closed loop: {json.dumps(result)}")
        if args.rate:
            result["open_loop"], _ = asyncio.run(measure_open(server, walks[n:], args, 0))
            info(f"  bare open loop: {json.dumps(result['open_loop'])}")
        return result
    finally:
        server.stop()


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"surveybot-inbound-{backend}-") as tmp:
        workdir = Path(tmp)
        try:
            with (
                backend_database(backend, workdir, info) as url,
                backend_database(backend, workdir, info, name="bare") as bare_url,
            ):
                return compare(backend, url, bare_url, workdir, args)
        except BackendUnavailable as exc:
            return {"error": str(exc)}


def compare(
    backend: str, url: str, bare_url: str, workdir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    try:
        count = args.conversations * (2 if args.rate else 1)
        walks = conversations(0, count)
        info(f"{backend}: surveybot serve, {count} SMS conversations")
        surveybot = run_surveybot(url, workdir, args, walks)
        info(f"{backend}: bare Starlette + one INSERT")
        bare = run_bare(bare_url, workdir, args, walks)
        ratio = None
        if surveybot.get("answers_per_s") and bare.get("answers_per_s"):
            ratio = round(surveybot["answers_per_s"] / bare["answers_per_s"], 3)
        return {"surveybot": surveybot, "bare_insert": bare, "ratio": ratio}
    except Exception as exc:
        while isinstance(exc, ExceptionGroup):
            exc = exc.exceptions[0]
        info(f"{backend}: failed: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"[:500]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=500, help="N (default 500)")
    parser.add_argument("--concurrency", type=int, default=32, help="C clients (default 32)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument(
        "--duration-cap", type=float, default=60.0, help="seconds per timed phase (default 60)"
    )
    parser.add_argument(
        "--rate", type=float, default=None, help="also run an open loop at this many answers/s"
    )
    args = parser.parse_args(argv)
    if args.conversations < 1 or args.concurrency < 1 or args.duration_cap <= 0:
        parser.error("--conversations, --concurrency and --duration-cap must be positive")
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate must be positive")
    load_at_start = round(os.getloadavg()[0], 2)  # other work on the machine skews the figures
    result: dict[str, Any] = {
        "benchmark": "inbound",
        "conversations": args.conversations,
        "concurrency": args.concurrency,
    }
    if args.rate:
        result["rate"] = args.rate
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        result[backend] = run_backend(backend, args)
    result["machine"] = {
        "cpus": os.cpu_count(),
        "load_average_1m_at_start": load_at_start,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
