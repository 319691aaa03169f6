"""Web-chat answer throughput and latency against a real `surveybot serve`, on SQLite and PostgreSQL.

What it measures
    For each backend in turn (a fresh SQLite file; a fresh database on the PostgreSQL server at
    127.0.0.1:5432, user postgres, dropped afterwards) it starts `surveybot serve` on a free loopback
    port, loads one CSAT survey (`throttle_days: 0`), creates an API key, triggers N web invitations
    and opens each chat once (`GET /s/<token>/state`, which also delivers the question). None of
    that is timed.

    Timed phase (closed loop): C concurrent clients (one process, asyncio, one httpx.AsyncClient
    with C keep-alive HTTP/1.1 connections) walk the conversations: `POST /s/<token>/messages` with
    a score 1-5, then `POST` again with a short comment. Each POST is one "answer"; its latency is
    time.perf_counter() around the request (so it includes any wait for a free connection). Every
    answer must answer 200 and the conversation's final state must be `"status": "done"`; anything
    else counts as an error. Afterwards `GET /api/v1/responses` (paged) must hold exactly one
    response per walked conversation: `stored_responses` (and `duplicates`, which must be 0).

    With `--rate R` an open-loop phase follows on another N conversations: answers are issued on a
    fixed schedule of R answers/s regardless of completion (conversation i's score at i*2/R, its
    comment at (i*2+1)/R or as soon as its score has been answered, whichever is later), and the
    latency of each is measured the same way. This is how "p99 at 500 answers/s" is measured; its
    figures appear under "open_loop" in the backend's object.

    The client shares the machine's CPUs with the server: the figures are a lower bound of what the
    server alone can do.

How to run
    .venv/bin/python benchmarks/answers.py [--conversations N] [--concurrency C]
        [--backends sqlite,postgresql] [--duration-cap SECONDS] [--rate ANSWERS_PER_S]

    Prints ONE JSON line on stdout; progress goes to stderr. Defaults: N=1000 (2000 answers),
    C=32, both backends, a 120 s cap on each timed phase (no new work is issued after it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
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
    start_profiler,
    stop_profiler,
    tree_cpu_seconds,
)

info = logger("answers")

T = TypeVar("T")
R = TypeVar("R")


# --------------------------------------------------------------------------- the server process


def start_server(
    database_url: str,
    workdir: Path,
    workers: int = 1,
    *,
    settings: dict[str, str] | None = None,
    log_name: str = "serve.log",
) -> Server:
    """`surveybot serve` on a free port, with `settings` added to its environment; waits for
    /healthz (30 s)."""
    port = free_port()
    env = {
        **os.environ,
        "SURVEYBOT_DATABASE_URL": database_url,
        "SURVEYBOT_LOG_LEVEL": "WARNING",
        "SURVEYBOT_SECRET_KEY": "".join(
            secrets.choice(string.ascii_letters + string.digits) for _ in range(32)
        ),
        **(settings or {}),
    }
    env.pop("SURVEYBOT_PUBLIC_URL", None)
    log_path = workdir / log_name
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                SURVEYBOT,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    server = Server(url=f"http://127.0.0.1:{port}", env=env, process=process, log_path=log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"surveybot serve did not start:\n{server.log_tail()}")
        time.sleep(0.1)


# --------------------------------------------------------------------------- the load


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # seconds, one per answer sent
    errors: int = 0
    conversations: int = 0  # conversations whose first answer was sent
    first_error: str | None = None

    def error(self, what: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = what

    def figures(self, seconds: float) -> dict[str, Any]:
        lat = sorted(self.latencies)
        out: dict[str, Any] = {
            "answers": len(lat),
            "seconds": round(seconds, 3),
            "answers_per_s": round(len(lat) / seconds, 1) if seconds > 0 else None,
            "p50_ms": round(percentile(lat, 50) * 1000, 1) if lat else None,
            "p90_ms": round(percentile(lat, 90) * 1000, 1) if lat else None,
            "p99_ms": round(percentile(lat, 99) * 1000, 1) if lat else None,
            "max_ms": round(lat[-1] * 1000, 1) if lat else None,
            "mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else None,
            "errors": self.errors,
        }
        if self.first_error:
            out["first_error"] = self.first_error[:300]
        return out


async def answer(
    client: httpx.AsyncClient, token: str, text: str, tally: Tally
) -> dict[str, Any] | None:
    """One POST /s/<token>/messages; records its latency; returns the state or None on error."""
    body = {"text": text, "client_message_id": str(uuid.uuid4())}
    started = time.perf_counter()
    try:
        resp = await client.post(f"/s/{token}/messages", json=body)
    except httpx.HTTPError as exc:
        tally.latencies.append(time.perf_counter() - started)
        tally.error(f"{type(exc).__name__}: {exc}")
        return None
    tally.latencies.append(time.perf_counter() - started)
    if resp.status_code != 200:
        tally.error(f"HTTP {resp.status_code}: {resp.text[:200]}")
        return None
    state: dict[str, Any] = resp.json()
    return state


def score_for(i: int) -> str:
    return str(random.Random(i).randint(1, 5))


def comment_for(i: int) -> str:
    return COMMENTS[i % len(COMMENTS)]


async def walk(client: httpx.AsyncClient, i: int, token: str, tally: Tally) -> None:
    """Score, then comment; the final state must be done."""
    state = await answer(client, token, score_for(i), tally)
    if state is None:
        return
    if state.get("status") != "active":
        tally.error(f"after the score the chat is {state.get('status')!r}, not active")
        return
    state = await answer(client, token, comment_for(i), tally)
    if state is not None and state.get("status") != "done":
        tally.error(f"after the comment the chat is {state.get('status')!r}, not done")


async def closed_loop(
    client: httpx.AsyncClient, tokens: list[str], concurrency: int, cap: float
) -> tuple[Tally, float]:
    tally = Tally()
    queue = list(enumerate(tokens))
    queue.reverse()
    started = time.perf_counter()
    deadline = started + cap

    async def worker() -> None:
        while queue and time.perf_counter() < deadline:
            i, token = queue.pop()
            tally.conversations += 1
            await walk(client, i, token, tally)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally, time.perf_counter() - started


async def open_loop(
    client: httpx.AsyncClient, tokens: list[str], rate: float, cap: float
) -> tuple[Tally, float, float]:
    """Answers on a fixed schedule of `rate`/s.

    Returns (tally, seconds, lag): lag is the worst delay of a score's send behind its slot, i.e.
    how far the client itself fell behind (a comment waiting for its score's answer is not lag).
    """
    tally = Tally()
    interval = 1.0 / rate
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.05
    lag = 0.0

    async def at(when: float, *, measure_lag: bool) -> None:
        nonlocal lag
        delay = when - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif measure_lag:  # the client itself fell behind its schedule
            lag = max(lag, -delay)

    async def conversation(i: int, token: str) -> None:
        await at(t0 + 2 * i * interval, measure_lag=True)
        state = await answer(client, token, score_for(i), tally)
        if state is None:
            return
        if state.get("status") != "active":
            tally.error(f"after the score the chat is {state.get('status')!r}, not active")
            return
        await at(t0 + (2 * i + 1) * interval, measure_lag=False)
        state = await answer(client, token, comment_for(i), tally)
        if state is not None and state.get("status") != "done":
            tally.error(f"after the comment the chat is {state.get('status')!r}, not done")

    tasks: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    for i, token in enumerate(tokens):
        if t0 + 2 * i * interval - loop.time() > 0.02:
            await asyncio.sleep(t0 + 2 * i * interval - loop.time() - 0.01)
        if time.perf_counter() - started > cap:
            break
        tally.conversations += 1
        tasks.append(asyncio.create_task(conversation(i, token)))
    # Everything issued gets REQUEST_TIMEOUT per request at most; bound the wait anyway.
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=cap + 4 * REQUEST_TIMEOUT)
    return tally, time.perf_counter() - started, lag


async def bounded(concurrency: int, fn: Callable[[T], Awaitable[R]], items: Sequence[T]) -> list[R]:
    """fn(item) for every item, at most `concurrency` at once; the first failure cancels the rest."""
    gate = asyncio.Semaphore(concurrency)

    async def one(item: T) -> R:
        async with gate:
            return await fn(item)

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(item)) for item in items]
    return [task.result() for task in tasks]


async def create_invitations(
    client: httpx.AsyncClient, api_key: str, first: int, count: int
) -> list[str]:
    headers = {"Authorization": f"Bearer {api_key}"}

    async def trigger(i: int) -> str:
        body = {"survey": SURVEY_KEY, "contact": {"external_id": f"bench-{i}"}, "channel": "web"}
        resp = await client.post("/api/v1/triggers", json=body, headers=headers)
        if resp.status_code != 202:
            raise RuntimeError(f"trigger {i}: HTTP {resp.status_code} {resp.text[:300]}")
        data = resp.json()
        if data.get("status") != "scheduled" or not data.get("link"):
            raise RuntimeError(f"trigger {i}: not scheduled: {data}")
        return str(data["link"]).rstrip("/").rsplit("/", 1)[-1]

    return await bounded(SETUP_CONCURRENCY, trigger, range(first, first + count))


async def warm_up(client: httpx.AsyncClient, tokens: list[str]) -> None:
    async def open_chat(token: str) -> None:
        resp = await client.get(f"/s/{token}/state")
        if resp.status_code != 200 or resp.json().get("status") != "active":
            raise RuntimeError(f"state of a new chat: HTTP {resp.status_code} {resp.text[:300]}")

    await bounded(SETUP_CONCURRENCY, open_chat, tokens)


async def stored(client: httpx.AsyncClient, api_key: str, expected: int) -> dict[str, Any]:
    """Responses stored for the survey: the count, distinct invitations, the scores' count."""
    headers = {"Authorization": f"Bearer {api_key}"}
    ids: list[str] = []
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
    scores = await client.get(f"/api/v1/surveys/{SURVEY_KEY}/scores", headers=headers)
    scores.raise_for_status()
    return {
        "stored_responses": len(ids),
        "duplicates": len(ids) - len(set(ids)),
        "scores_responses": scores.json().get("responses"),
    }


def profile(server: Server, args: argparse.Namespace) -> subprocess.Popen[bytes] | None:
    if not args.py_spy:
        return None
    out = f"{args.py_spy}-{args.backend}.txt"
    return start_profiler(server.process.pid, out, args.duration_cap + 5, rate=200)


async def drive(server: Server, api_key: str, args: argparse.Namespace) -> dict[str, Any]:
    n, c = args.conversations, args.concurrency
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    timeout = httpx.Timeout(REQUEST_TIMEOUT, pool=REQUEST_TIMEOUT)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=timeout) as client:
        sets = 2 if args.rate else 1
        t = time.perf_counter()
        tokens = await create_invitations(client, api_key, 0, n * sets)
        info(f"  {len(tokens)} invitations in {time.perf_counter() - t:.1f}s; opening the chats")
        t = time.perf_counter()
        await warm_up(client, tokens)
        info(f"  chats opened in {time.perf_counter() - t:.1f}s; timed phase (closed loop, C={c})")

        profiler = profile(server, args)
        cpu_before = tree_cpu_seconds(server.process.pid)
        own_before = time.process_time()
        try:
            tally, seconds = await closed_loop(client, tokens[:n], c, args.duration_cap)
        finally:
            stop_profiler(profiler)
        server_cpu = tree_cpu_seconds(server.process.pid) - cpu_before
        client_cpu = time.process_time() - own_before
        result = tally.figures(seconds)
        if tally.latencies:
            # Where the two cores went: the server's processes, this client, and the rest
            # (the database server, the kernel) per answer.
            result["server_cpu_ms_per_answer"] = round(1000 * server_cpu / len(tally.latencies), 2)
            result["client_cpu_ms_per_answer"] = round(1000 * client_cpu / len(tally.latencies), 2)
        walked = tally.conversations
        info(f"  closed loop: {json.dumps(result)}")

        if args.rate:
            info(f"  open loop at {args.rate:g} answers/s")
            tally, seconds, lag = await open_loop(client, tokens[n:], args.rate, args.duration_cap)
            open_result = tally.figures(seconds)
            open_result = {"rate": args.rate, **open_result, "max_lag_ms": round(lag * 1000, 1)}
            walked += tally.conversations
            info(f"  open loop: {json.dumps(open_result)}")
            result["open_loop"] = open_result

        check = await stored(client, api_key, walked)
        result.update(check)
        result["expected_responses"] = walked
        if check["stored_responses"] != walked or check["duplicates"]:
            info(f"  MISMATCH: {walked} conversations walked, stored {check}")
    return result


# --------------------------------------------------------------------------- the backends


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"surveybot-bench-{backend}-") as tmp:
        workdir = Path(tmp)
        try:
            with backend_database(backend, workdir, info) as url:
                return serve_and_drive(backend, url, workdir, args)
        except BackendUnavailable as exc:
            return {"error": str(exc)}


def serve_and_drive(
    backend: str, url: str, workdir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    server = None
    try:
        info(f"{backend}: starting surveybot serve")
        server = start_server(url, workdir, args.workers)
        survey_file = workdir / "surveys.yaml"
        survey_file.write_text(SURVEY_YAML)
        server.cli("surveys", "load", str(survey_file))
        api_key = server.cli("apikey", "create", "bench").strip().splitlines()[-1].strip()
        return asyncio.run(drive(server, api_key, args))
    except Exception as exc:
        while isinstance(exc, ExceptionGroup):  # from a TaskGroup: report the first failure
            exc = exc.exceptions[0]
        tail = server.log_tail() if server else ""
        info(f"{backend}: failed: {exc}\n{tail}")
        return {"error": f"{type(exc).__name__}: {exc}"[:500]}
    finally:
        if server is not None:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1000, help="N (default 1000)")
    parser.add_argument("--concurrency", type=int, default=32, help="C clients (default 32)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument(
        "--workers", type=int, default=1, help="server worker processes (default 1)"
    )
    parser.add_argument(
        "--duration-cap", type=float, default=120.0, help="seconds per timed phase (default 120)"
    )
    parser.add_argument(
        "--rate", type=float, default=None, help="also run an open loop at this many answers/s"
    )
    parser.add_argument(
        "--py-spy",
        metavar="PREFIX",
        default=None,
        help="profile the server during the closed loop with py-spy (if installed): writes "
        "PREFIX-<backend>.txt (collapsed stacks)",
    )
    args = parser.parse_args(argv)
    if args.conversations < 1 or args.concurrency < 1 or args.duration_cap <= 0:
        parser.error("--conversations, --concurrency and --duration-cap must be positive")
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate must be positive")

    result: dict[str, Any] = {
        "benchmark": "answers",
        "conversations": args.conversations,
        "concurrency": args.concurrency,
        "workers": args.workers,
    }
    if args.rate:
        result["rate"] = args.rate
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        args.backend = backend
        result[backend] = run_backend(backend, args)
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
