"""Web-chat answers with and without an outbound webhook subscription, and the deliveries it makes.

What it measures
    For each backend (a fresh SQLite file; a fresh database on the PostgreSQL server at
    127.0.0.1:5432, user postgres, dropped afterwards) it runs the same load twice, each time on
    a fresh database and a fresh `surveybot serve`:

    - `without`: no webhook subscription (the events are still written with each answer, and
      routed to nothing, as in any install);
    - `with`: one subscription to every event (`surveybot webhooks add URL --event '*'`),
      pointed at a loopback receiver in its own process (this file run with `--receiver`: raw
      asyncio, HTTP/1.1 keep-alive). The receiver verifies each request's signature (HMAC-SHA256
      of "<timestamp>.<body>", compared in constant time, timestamp within 300 s), checks that
      the event id is in the body, counts deliveries per event id and answers 200; `GET /stats`
      gives its counts.

    The load is benchmarks/answers.py's closed loop: N/2 web invitations triggered and their chats
    opened (not timed), then C concurrent clients answer every chat with a score and then a
    comment (N answers; each conversation writes three events: response.created,
    response.updated, response.completed). Measured per mode: answers/s, latency percentiles,
    the server's CPU per answer (its process tree, from /proc). With the subscription the run
    then waits (bounded) until every event written has arrived, and reports: events written,
    deliveries made (the receiver's count and the `delivery` table's), how long after the last
    answer the last delivery arrived, deliveries per second from the first arrival to the last,
    how many had arrived by the last answer, duplicates (must be 0: nothing fails in this run),
    invalid signatures (must be 0), and the server's and receiver's CPU per delivery.

    `ratio` = answers/s with the subscription ÷ without (the aim: at least 0.9).

    Switched off because they are not under test: the campaign scheduler, the tagger (one sweep
    an hour) and the outbox's idle polling (every 60 s; a trigger wakes it anyway). The router and
    the deliverer run as shipped (every second, batches of 500 and 50, 16 in flight).

How to run
    .venv/bin/python benchmarks/webhooks.py [--answers N] [--concurrency C]
        [--backends sqlite,postgresql] [--repeats R] [--duration-cap SECONDS]
        [--drain-cap SECONDS] [--py-spy PREFIX]

    Prints ONE JSON line on stdout; progress on stderr. Defaults: N=10 000 answers (5 000
    conversations), C=32, both backends, R=1 (each repeat runs `without` then `with`), 600 s cap
    on each timed phase, 300 s cap on waiting for the deliveries. `--py-spy PREFIX` records the
    server with py-spy (raw collapsed stacks) into `PREFIX-<backend>-<mode>-answers.txt` (the
    timed phase) and `PREFIX-<backend>-with-drain.txt` (after the last answer, until the last
    delivery); the figures of a profiled run are not comparable with an unprofiled one.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from answers import closed_loop, create_invitations, start_server, stored, warm_up
from bench_common import (
    REQUEST_TIMEOUT,
    SURVEY_YAML,
    BackendUnavailable,
    RawHttp,
    Server,
    backend_database,
    free_port,
    logger,
    start_profiler,
    stop_profiler,
    tree_cpu_seconds,
)

info = logger("webhooks")

SECRET = "bench-webhook-secret-" + "0123456789abcdef"
TOLERANCE = 300  # seconds: a signature's timestamp older than this is refused (the docs' advice)


# --------------------------------------------------------------------------- the receiver process


class _Counts:
    posts = 0
    invalid = 0  # signature wrong or missing
    stale = 0  # timestamp further than TOLERANCE from now
    id_not_in_body = 0
    first = 0.0
    last = 0.0
    per_event: dict[bytes, int] = {}  # noqa: RUF012 - one receiver per process


def _check(headers: dict[bytes, bytes], body: bytes, secret: bytes) -> None:
    counts = _Counts
    now = time.time()
    counts.posts += 1
    if not counts.first:
        counts.first = now
    counts.last = now
    event_id = headers.get(b"x-surveybot-event-id", b"")
    stamp = headers.get(b"x-surveybot-timestamp", b"")
    given = headers.get(b"x-surveybot-signature", b"")
    expected = (
        b"sha256=" + hmac.new(secret, stamp + b"." + body, hashlib.sha256).hexdigest().encode()
    )
    if not hmac.compare_digest(given, expected):
        counts.invalid += 1
    if not stamp.isdigit() or abs(now - int(stamp)) > TOLERANCE:
        counts.stale += 1
    if not event_id or event_id not in body:
        counts.id_not_in_body += 1
    counts.per_event[event_id] = counts.per_event.get(event_id, 0) + 1


def _stats() -> dict[str, Any]:
    counts = _Counts
    repeated = {k.decode(): n for k, n in counts.per_event.items() if n > 1}
    usage = os.times()
    return {
        "posts": counts.posts,
        "unique": len(counts.per_event),
        "duplicates": sum(n - 1 for n in repeated.values()),
        "duplicate_ids": dict(list(repeated.items())[:20]),
        "invalid_signatures": counts.invalid,
        "stale_timestamps": counts.stale,
        "id_not_in_body": counts.id_not_in_body,
        "first": counts.first,
        "last": counts.last,
        "cpu_s": usage.user + usage.system,
    }


class _Receiver(RawHttp):
    """POST → check and count, 200; GET /stats → the counts as JSON."""

    secret = b""

    def answer(
        self, request_line: bytes, headers: dict[bytes, bytes], body: bytes
    ) -> tuple[bytes, bytes]:
        if request_line.startswith(b"POST"):
            _check(headers, body, self.secret)
            return b"200 OK", b"ok"
        return b"200 OK", json.dumps(_stats()).encode()


async def receive(port: int, secret: str) -> None:
    _Receiver.secret = secret.encode()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Receiver, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


@dataclass
class ReceiverProcess:
    url: str
    process: subprocess.Popen[bytes]

    def stats(self) -> dict[str, Any]:
        reply = httpx.get(f"{self.url}/stats", timeout=10)
        reply.raise_for_status()
        data: dict[str, Any] = reply.json()
        return data

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_receiver() -> ReceiverProcess:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--receiver", "--port", str(port), "--secret", SECRET]
    )
    receiver = ReceiverProcess(url=f"http://127.0.0.1:{port}", process=process)
    deadline = time.monotonic() + 15
    while True:
        try:
            receiver.stats()
            return receiver
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                receiver.stop()
                raise RuntimeError("the webhook receiver did not start") from None
            time.sleep(0.05)


# --------------------------------------------------------------------------- the server


# What is not under test: the campaign scheduler, the tagger, the outbox's idle polling.
SWITCHED_OFF = {
    "SURVEYBOT_SCHEDULER": "false",
    "SURVEYBOT_TAGGING_INTERVAL_SECONDS": "3600",
    "SURVEYBOT_DISPATCH_INTERVAL_SECONDS": "60",
}


# --------------------------------------------------------------------------- the database's view


def outbox_counts(database_url: str) -> dict[str, Any]:
    """Events written (by type) and deliveries (by status, with their attempts), read directly."""
    events_sql = "SELECT type, count(*) FROM event GROUP BY type"
    deliveries_sql = "SELECT status, count(*), sum(attempts) FROM delivery GROUP BY status"
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[1]
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            events = conn.execute(events_sql).fetchall()
            deliveries = conn.execute(deliveries_sql).fetchall()
        finally:
            conn.close()
    else:

        async def read() -> tuple[list[Any], list[Any]]:
            import asyncpg

            conn = await asyncpg.connect(database_url, timeout=10)
            try:
                return (
                    [tuple(r) for r in await conn.fetch(events_sql)],
                    [tuple(r) for r in await conn.fetch(deliveries_sql)],
                )
            finally:
                await conn.close()

        events, deliveries = asyncio.run(read())
    return {
        "events": sum(n for _, n in events),
        "events_by_type": {t: n for t, n in sorted(events)},
        "deliveries_by_status": {s: n for s, n, _ in sorted(deliveries)},
        "delivery_attempts": sum(int(a or 0) for _, _, a in deliveries),
    }


# --------------------------------------------------------------------------- one run


async def answer_phase(
    server: Server, api_key: str, args: argparse.Namespace, profile: str | None
) -> dict[str, Any]:
    conversations = args.answers // 2
    c = args.concurrency
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    timeout = httpx.Timeout(REQUEST_TIMEOUT, pool=REQUEST_TIMEOUT)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=timeout) as client:
        t = time.perf_counter()
        tokens = await create_invitations(client, api_key, 0, conversations)
        info(f"  {len(tokens)} invitations in {time.perf_counter() - t:.1f}s; opening the chats")
        t = time.perf_counter()
        await warm_up(client, tokens)
        info(f"  chats opened in {time.perf_counter() - t:.1f}s; answering (C={c})")
        profiler = None
        if profile:
            profiler = start_profiler(server.process.pid, profile, args.duration_cap + 30)
        cpu_before = tree_cpu_seconds(server.process.pid)
        own_before = time.process_time()
        started_wall = time.time()
        try:
            tally, seconds = await closed_loop(client, tokens, c, args.duration_cap)
        finally:
            ended_wall = time.time()
            stop_profiler(profiler)
        server_cpu = tree_cpu_seconds(server.process.pid) - cpu_before
        client_cpu = time.process_time() - own_before
        result = tally.figures(seconds)
        answers = max(1, len(tally.latencies))
        result["server_cpu_ms_per_answer"] = round(1000 * server_cpu / answers, 2)
        result["client_cpu_ms_per_answer"] = round(1000 * client_cpu / answers, 2)
        result["conversations"] = tally.conversations
        result["_started_wall"] = started_wall
        result["_ended_wall"] = ended_wall
        check = await stored(client, api_key, tally.conversations)
        result.update(check)
        if check["stored_responses"] != tally.conversations or check["duplicates"]:
            info(f"  MISMATCH: {tally.conversations} conversations walked, stored {check}")
    return result


def drain(
    server: Server, receiver: ReceiverProcess, database_url: str, expected: int, cap: float
) -> dict[str, Any]:
    """Wait until every event written has arrived (bounded: `cap`, or 60 s without progress)."""
    cpu_before = tree_cpu_seconds(server.process.pid)
    started = time.monotonic()
    seen, progress_at = -1, started
    while True:
        stats = receiver.stats()
        now = time.monotonic()
        if stats["unique"] != seen:
            seen, progress_at = stats["unique"], now
        if stats["unique"] >= expected:
            break
        if now - started > cap or now - progress_at > 60:
            info(f"  gave up waiting: {stats['unique']} of {expected} events arrived")
            break
        time.sleep(0.2)
    time.sleep(1.5)  # let a late duplicate, if any, arrive and the last results be recorded
    return {
        "stats": receiver.stats(),
        "server_cpu_s": tree_cpu_seconds(server.process.pid) - cpu_before,
        "seconds": time.monotonic() - started,
    }


def one_run(backend: str, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"surveybot-bench-wh-{backend}-") as tmp:
        workdir = Path(tmp)
        try:
            with backend_database(backend, workdir, info, name=mode) as url:
                return serve_and_drive(backend, mode, url, workdir, args)
        except BackendUnavailable as exc:
            return {"error": str(exc)}


def serve_and_drive(
    backend: str, mode: str, url: str, workdir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    server: Server | None = None
    receiver: ReceiverProcess | None = None
    profiler: subprocess.Popen[bytes] | None = None
    try:
        info(f"{backend} / {mode}: starting surveybot serve")
        if mode == "with":
            receiver = start_receiver()
        server = start_server(url, workdir, settings=SWITCHED_OFF, log_name=f"serve-{mode}.log")
        survey_file = workdir / "surveys.yaml"
        survey_file.write_text(SURVEY_YAML)
        server.cli("surveys", "load", str(survey_file))
        api_key = server.cli("apikey", "create", "bench").strip().splitlines()[-1].strip()
        if receiver is not None:
            added = server.cli(
                "webhooks", "add", f"{receiver.url}/hook", "--event", "*", "--secret", SECRET
            )
            info(f"  {added.splitlines()[0]}")
        profile = f"{args.py_spy}-{backend}-{mode}" if args.py_spy else None
        receiver_cpu_before = receiver.stats()["cpu_s"] if receiver is not None else 0.0
        result = asyncio.run(
            answer_phase(server, api_key, args, f"{profile}-answers.txt" if profile else None)
        )
        started_wall = result.pop("_started_wall")
        ended_wall = result.pop("_ended_wall")
        if receiver is not None:
            expected = outbox_counts(url)["events"]
            at_last_answer = receiver.stats()
            if profile:
                profiler = start_profiler(
                    server.process.pid, f"{profile}-drain.txt", args.drain_cap + 30
                )
            drained = drain(server, receiver, url, expected, args.drain_cap)
            stats = drained["stats"]
            stop_profiler(profiler)
            outbox = outbox_counts(url)
            span = stats["last"] - stats["first"] if stats["posts"] > 1 else 0.0
            receiver_cpu = stats["cpu_s"] - receiver_cpu_before
            result["webhooks"] = {
                "events_written": outbox["events"],
                "events_by_type": outbox["events_by_type"],
                "deliveries_received": stats["posts"],
                "events_received": stats["unique"],
                "deliveries_by_status": outbox["deliveries_by_status"],
                "delivery_attempts": outbox["delivery_attempts"],
                "received_by_last_answer": at_last_answer["unique"],
                "first_delivery_after_start_s": round(stats["first"] - started_wall, 2)
                if stats["first"]
                else None,
                "last_delivery_after_last_answer_s": round(stats["last"] - ended_wall, 2)
                if stats["last"]
                else None,
                "deliveries_per_s": round(stats["posts"] / span, 1) if span > 0 else None,
                "duplicates": stats["duplicates"],
                "duplicate_ids": stats["duplicate_ids"],
                "invalid_signatures": stats["invalid_signatures"],
                "stale_timestamps": stats["stale_timestamps"],
                "id_not_in_body": stats["id_not_in_body"],
                "drain_server_cpu_s": round(drained["server_cpu_s"], 2),
                # After the last answer the server only routes and delivers: its CPU per
                # delivery made then.
                "drain_server_cpu_ms_per_delivery": round(
                    1000
                    * drained["server_cpu_s"]
                    / max(1, stats["posts"] - at_last_answer["posts"]),
                    2,
                ),
                "receiver_cpu_ms_per_delivery": round(
                    1000 * receiver_cpu / max(1, stats["posts"]), 3
                ),
            }
            result["webhooks"]["checks"] = {
                "every_event_delivered_once": stats["unique"] == outbox["events"]
                and stats["posts"] == outbox["events"]
                and stats["duplicates"] == 0,
                "every_signature_valid": stats["invalid_signatures"] == 0 and stats["posts"] > 0,
            }
        else:
            result["events_written"] = outbox_counts(url)["events"]
        return result
    except Exception as exc:
        while isinstance(exc, ExceptionGroup):  # from a TaskGroup: report the first failure
            exc = exc.exceptions[0]
        tail = server.log_tail() if server else ""
        info(f"{backend} / {mode}: failed: {exc}\n{tail}")
        return {"error": f"{type(exc).__name__}: {exc}"[:500]}
    finally:
        stop_profiler(profiler)
        if server is not None:
            server.stop()
        if receiver is not None:
            receiver.stop()


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if isinstance(r.get(key), int | float)]
    return round(statistics.median(values), 2) if values else None


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
    for repeat in range(args.repeats):
        for mode in ("without", "with"):
            result = one_run(backend, mode, args)
            info(f"{backend} / {mode} #{repeat + 1}: {json.dumps(result)}")
            runs[mode].append(result)
            if "error" in result and "PostgreSQL at" in str(result["error"]):
                return {"error": result["error"]}
    out: dict[str, Any] = {}
    for mode in ("without", "with"):
        out[mode] = runs[mode][0] if len(runs[mode]) == 1 else runs[mode]
    pairs = [
        (w.get("answers_per_s"), wo.get("answers_per_s"))
        for w, wo in zip(runs["with"], runs["without"], strict=True)
    ]
    ratios = [round(w / wo, 3) for w, wo in pairs if w and wo]
    out["ratio"] = ratios[0] if len(ratios) == 1 else ratios
    if len(ratios) > 1:
        out["ratio_median"] = round(statistics.median(ratios), 3)
        for mode in ("without", "with"):
            out[f"{mode}_median"] = {
                key: median_of(runs[mode], key)
                for key in ("answers_per_s", "p50_ms", "p99_ms", "server_cpu_ms_per_answer")
            }
    checks = [r.get("webhooks", {}).get("checks", {}) for r in runs["with"]]
    out["checks"] = {
        "every_event_delivered_once": bool(checks)
        and all(c.get("every_event_delivered_once") for c in checks),
        "every_signature_valid": bool(checks)
        and all(c.get("every_signature_valid") for c in checks),
        "ratio_at_least_0.9": bool(ratios) and min(ratios) >= 0.9,
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=10_000, help="N answers (default 10 000)")
    parser.add_argument("--concurrency", type=int, default=32, help="C clients (default 32)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--repeats", type=int, default=1, help="pairs of runs (default 1)")
    parser.add_argument(
        "--duration-cap", type=float, default=600.0, help="seconds per timed phase (default 600)"
    )
    parser.add_argument(
        "--drain-cap", type=float, default=300.0, help="seconds to wait for deliveries (300)"
    )
    parser.add_argument("--py-spy", metavar="PREFIX", default=None, help="profile the server")
    parser.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--secret", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.receiver:
        asyncio.run(receive(args.port, args.secret))
        return 0
    if args.answers < 2 or args.concurrency < 1 or args.repeats < 1 or args.duration_cap <= 0:
        parser.error("--answers (at least 2), --concurrency, --repeats, --duration-cap: positive")

    result: dict[str, Any] = {
        "benchmark": "webhooks",
        "answers": args.answers,
        "conversations": args.answers // 2,
        "answers_per_conversation": "2 (score, then comment)",
        "concurrency": args.concurrency,
        "repeats": args.repeats,
    }
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        result[backend] = run_backend(backend, args)
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
