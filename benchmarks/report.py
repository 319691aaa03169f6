"""Insight reads on a million responses: grouped scores, the dashboard, themes and the CSV export.

What it measures
    For each backend in turn (a fresh SQLite file; a fresh database on the PostgreSQL server at
    127.0.0.1:5432, user postgres, dropped afterwards) it brings the schema up with the
    migrations, loads the surveys with `surveybot surveys load`, then bulk-loads (not timed, but
    reported) one NPS survey's N responses over 24 months -- 4 channels, a `segment` property
    with 50 values and an `agent` property with 20, about 30 % commented, their
    `comment_analysis` and `response_theme` rows, an invitation per response and 25 % more that
    were sent and never answered -- plus a CSAT survey with a few hundred rows, so that every
    query must select its survey. Then ANALYZE.

    It starts a real `surveybot serve` on that database (outbox polling, scheduler and tagging
    ticks switched off as far as the settings allow), creates an API key with the CLI, waits for
    the start-up tagging sweep to finish, and times over HTTP, after one warm-up, `--repeats`
    runs of each of:
      - scores by month x channel x segment over the 24 months;
      - the same over the last 12 months with compare=previous;
      - the dashboard's first screen for the last 12 months (signed in through the real form);
      - the themes of the last 12 months with compare=previous, propose=false;
    and beside them, on the same database, a hand-written GROUP BY answering the first (month
    bucket, channel, segment, score, count) through asyncpg / sqlite3: `ratio` = API / raw.
    Then the CSV export of every response through /api/v1/responses?format=csv (seconds,
    bytes, rows, the server's RSS before and its peak during the export: VmHWM, reset just
    before) and through `surveybot export responses` (its process's peak RSS, by GNU time).

    With `--explain DIR` it also runs each view in-process on the same database, records every
    SQL statement it sends and how long each took, and writes the plans (PostgreSQL: EXPLAIN
    ANALYZE, BUFFERS; SQLite: EXPLAIN QUERY PLAN) of the slow ones to DIR.

How to run
    .venv/bin/python benchmarks/report.py [--responses N] [--repeats R]
        [--backends sqlite,postgresql] [--explain DIR]

    Prints ONE JSON line on stdout; progress goes to stderr. Defaults: N = 1 000 000, R = 5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import secrets
import sqlite3
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from bench_common import (
    STARTUP_TIMEOUT,
    SURVEYBOT,
    BackendUnavailable,
    Server,
    backend_database,
    free_port,
    logger,
)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the loader and --explain use the project's own modules
    sys.path.insert(0, str(ROOT))

info = logger("report")

NPS_KEY = "bench-nps"
CSAT_KEY = "bench-csat"
CSAT_RESPONSES = 300
CHANNELS = ("web", "email", "sms", "telegram")
CHANNEL_WEIGHTS = (40, 30, 20, 10)
SEGMENTS = tuple(f"seg-{i:02d}" for i in range(50))
AGENTS = tuple(f"agent-{i:02d}" for i in range(20))
THEMES = {
    "speed": ["slow", "fast", "quick", "waited", "took too long"],
    "rudeness": ["rude", "impolite", "unfriendly", "unprofessional"],
    "friendliness": ["friendly", "kind", "polite", "helpful", "patient"],
    "price": ["expensive", "price", "cheap", "cost"],
    "resolution": ["solved", "fixed", "resolved", "sorted out"],
    "app": ["app", "crash", "bug", "login"],
    "billing": ["invoice", "bill", "charged", "refund"],
    "delivery": ["delivery", "shipping", "parcel", "late"],
}
COMMENTS = {
    "detractor": (
        "Waited over 40 minutes on hold, far too slow.",
        "The agent was rude and did not listen.",
        "Way too expensive for what you get.",
        "The app crashes every time I try to log in.",
        "Charged twice on the invoice and still no refund.",
        "Delivery was late again, third time this year.",
        "Nothing was solved, I had to call back twice.",
        "Unprofessional and slow.",
    ),
    "passive": (
        "Fine, but it took too long.",
        "OK overall, the price is a bit high.",
        "Solved in the end, after a while.",
        "The app works, mostly.",
        "Shipping was slower than promised.",
        "Decent service.",
    ),
    "promoter": (
        "Quick and friendly, thanks!",
        "Problem fixed on the first call.",
        "Great app, easy to use.",
        "Very helpful and patient agent.",
        "Fast delivery and a fair price.",
        "Sorted out my billing question in minutes.",
        "Excellent as always.",
    ),
}
SURVEYS_YAML = f"""\
surveys:
  - key: {NPS_KEY}
    metric: nps
    question: "How likely are you to recommend us to a friend?"
    throttle_days: 0
    quiet_hours: {{}}
    themes: {json.dumps(THEMES)}
  - key: {CSAT_KEY}
    metric: csat
    question: "How did we do?"
    throttle_days: 0
    quiet_hours: {{}}
"""
CHUNK = 100_000  # rows generated and written at a time, so the loader's memory stays bounded
REQUEST_TIMEOUT = 900.0
IDLE_TIMEOUT = 900.0  # the start-up tagging sweep reads every comment once
AIMS = {
    "grouped_report_s": {"postgresql": 1.0, "sqlite": 2.0},
    "grouped_report_ratio": 1.3,
    "dashboard_s": 1.5,
    "export_peak_rss_mb": 150.0,
}


# --------------------------------------------------------------------------- the data


@dataclass
class Plan:
    """What is loaded: the period, the survey ids and the theme book's version."""

    responses: int
    start: datetime
    end: datetime
    nps_id: int
    csat_id: int
    theme_version: str
    contacts: int


def nps_score(rng: random.Random, detractors: float) -> int:
    """A realistic 0-10 answer: a quarter passive, `detractors` low, the rest promoters."""
    draw = rng.random()
    if draw < detractors:
        return rng.choices(range(7), weights=(6, 3, 3, 4, 5, 9, 10))[0]
    if draw < detractors + 0.25:
        return rng.choice((7, 8))
    return rng.choices((9, 10), weights=(45, 55))[0]


def nps_band(score: int) -> str:
    return "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"


def generate(plan: Plan, seed: int = 7) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """(table, rows) in chunks, in foreign-key order, with Python values (aware datetimes,
    JSON as text, booleans). Deterministic for a seed."""
    rng = random.Random(seed)
    span = (plan.end - plan.start).total_seconds()
    segment_weights = [1 / (k + 1) ** 0.8 for k in range(len(SEGMENTS))]
    segment_of = rng.choices(range(len(SEGMENTS)), weights=segment_weights, k=plan.contacts)
    agent_weights = [rng.uniform(0.5, 1.5) for _ in AGENTS]
    # Each agent has their own share of detractors, so groups differ from each other.
    agent_detractors = [rng.uniform(0.12, 0.34) for _ in AGENTS]
    names = list(THEMES)
    theme_weights = (20, 8, 14, 10, 16, 12, 10, 10)

    contacts = []
    for i in range(plan.contacts):
        props = json.dumps({"segment": SEGMENTS[segment_of[i]]})
        contacts.append((i + 1, f"c{i}", "en", props, plan.start, plan.start))
        if len(contacts) == CHUNK:
            yield "contact", contacts
            contacts = []
    if contacts:
        yield "contact", contacts

    # Response ids grow with answer time, as they do when answers arrive one by one.
    moments = sorted(rng.random() for _ in range(plan.responses))
    response_props: dict[tuple[int, int], str] = {}
    invitation_props = [json.dumps({"agent": agent}) for agent in AGENTS]
    for first in range(0, plan.responses, CHUNK):
        invitations, responses, analyses, themes = [], [], [], []
        for i in range(first, min(first + CHUNK, plan.responses)):
            answered = plan.start + timedelta(seconds=moments[i] * span)
            # Later answers drift a little lower, so comparing periods finds a change.
            drift = 0.04 * moments[i]
            contact = rng.randrange(plan.contacts)
            segment = segment_of[contact]
            channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
            agent = rng.choices(range(len(AGENTS)), weights=agent_weights)[0]
            score = nps_score(rng, agent_detractors[agent] + drift)
            band = nps_band(score)
            created = answered - timedelta(seconds=rng.uniform(300, 172_800))
            invitation_id = f"{rng.getrandbits(128):032x}"
            invitations.append(
                invitation_row(invitation_id, plan.nps_id, contact + 1, channel, "completed",
                               created, answered, invitation_props[agent])
            )  # fmt: skip
            props = response_props.get((segment, agent))
            if props is None:
                props = json.dumps({"segment": SEGMENTS[segment], "agent": AGENTS[agent]})
                response_props[(segment, agent)] = props
            share = {"detractor": 0.45, "passive": 0.28, "promoter": 0.22}[band]
            comment = rng.choice(COMMENTS[band]) if rng.random() < share else None
            response_id = i + 1
            responses.append(
                (response_id, invitation_id, plan.nps_id, contact + 1, channel, score, None,
                 comment, answered, props, "conversation")
            )  # fmt: skip
            if comment is None:
                continue
            polarity = {"detractor": -1, "passive": 0, "promoter": 1}[band]
            disagrees = rng.random() < 0.06
            if disagrees:
                polarity = -polarity or 1
            analyses.append(
                (response_id, plan.nps_id, plan.theme_version, score, len(comment), polarity,
                 disagrees, answered + timedelta(minutes=1))
            )  # fmt: skip
            count = rng.choices((0, 1, 2), weights=(25, 50, 25))[0]
            for theme in set(rng.choices(names, weights=theme_weights, k=count)):
                themes.append((response_id, theme, plan.nps_id))
        yield "invitation", invitations
        yield "response", responses
        yield "comment_analysis", analyses
        yield "response_theme", themes

    # Sent and never answered: what makes a response rate mean something.
    unanswered = []
    for _ in range(plan.responses // 4):
        created = plan.start + timedelta(seconds=rng.random() * span)
        agent = rng.randrange(len(AGENTS))
        unanswered.append(
            invitation_row(f"{rng.getrandbits(128):032x}", plan.nps_id,
                           rng.randrange(plan.contacts) + 1, rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0],
                           "sent", created, None, invitation_props[agent])
        )  # fmt: skip
        if len(unanswered) == CHUNK:
            yield "invitation", unanswered
            unanswered = []
    if unanswered:
        yield "invitation", unanswered

    # The other survey: a few rows that every query of the NPS survey must leave out.
    invitations, responses = [], []
    for j in range(CSAT_RESPONSES):
        answered = plan.start + timedelta(seconds=rng.random() * span)
        invitation_id = f"{rng.getrandbits(128):032x}"
        contact = rng.randrange(plan.contacts) + 1
        invitations.append(
            invitation_row(invitation_id, plan.csat_id, contact, "email", "completed",
                           answered - timedelta(hours=2), answered, invitation_props[0])
        )  # fmt: skip
        responses.append(
            (plan.responses + j + 1, invitation_id, plan.csat_id, contact, "email",
             rng.randint(1, 5), None, None, answered, json.dumps({"segment": SEGMENTS[0]}),
             "conversation")
        )  # fmt: skip
    yield "invitation", invitations
    yield "response", responses


def invitation_row(
    invitation_id: str,
    survey_id: int,
    contact_id: int,
    channel: str,
    status: str,
    created: datetime,
    answered: datetime | None,
    properties: str,
) -> tuple[Any, ...]:
    step = "done" if answered is not None else "awaiting_score"
    return (invitation_id, survey_id, contact_id, channel, status, step, 0, created, created,
            1, properties, created, answered or created, 0, False)  # fmt: skip


COLUMNS = {
    "contact": ("id", "external_id", "locale", "properties", "created_at", "updated_at"),
    "invitation": (
        "id", "survey_id", "contact_id", "channel", "status", "step", "reprompts", "send_at",
        "sent_at", "attempts", "properties", "created_at", "updated_at", "reminders_sent", "test",
    ),
    "response": (
        "id", "invitation_id", "survey_id", "contact_id", "channel", "score", "reason",
        "comment", "answered_at", "properties", "source",
    ),
    "comment_analysis": (
        "response_id", "survey_id", "version", "score", "comment_length", "polarity",
        "disagrees", "analysed_at",
    ),
    "response_theme": ("response_id", "theme", "survey_id"),
}  # fmt: skip


# --------------------------------------------------------------------------- loading


def sqlite_path(url: str) -> str:
    return url.split("///", 1)[1]


def pg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def prepare_schema(url: str, env: dict[str, str], workdir: Path) -> None:
    """Migrations first (so the indexes measured are theirs), then the surveys, by the CLI."""
    from storage.database import create_engine
    from storage.migrate import upgrade

    async def migrate() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    surveys = workdir / "surveys.yaml"
    surveys.write_text(SURVEYS_YAML)
    cli(env, "surveys", "load", str(surveys))


def survey_ids(url: str) -> tuple[int, int, str]:
    """The two surveys' ids and the NPS survey's theme book version, as the tagger sees it."""
    from bot.insight.themes import ThemeBook
    from storage.database import create_engine, session_factory
    from storage.repositories.surveys import to_domain
    from storage.uow import UnitOfWork

    async def read() -> tuple[int, int, str]:
        engine = create_engine(url)
        try:
            async with UnitOfWork(session_factory(engine)) as uow:
                nps = await uow.surveys.get_by_key(NPS_KEY)
                csat = await uow.surveys.get_by_key(CSAT_KEY)
                assert nps is not None and csat is not None and nps.id and csat.id
                version = ThemeBook.from_survey(to_domain(nps)).version
                return nps.id, csat.id, version
        finally:
            await engine.dispose()

    return asyncio.run(read())


def load(backend: str, url: str, plan: Plan) -> dict[str, Any]:
    """Bulk-load the plan's rows and ANALYZE; the row counts and the seconds it took."""
    counts: dict[str, int] = dict.fromkeys(COLUMNS, 0)
    started = time.perf_counter()
    if backend == "postgresql":
        asyncio.run(_load_postgresql(url, plan, counts))
    else:
        _load_sqlite(url, plan, counts)
    loaded = time.perf_counter()
    analyze(backend, url)
    done = time.perf_counter()
    return {
        "seconds": round(loaded - started, 1),
        "analyze_seconds": round(done - loaded, 1),
        "rows": counts,
    }


async def _load_postgresql(url: str, plan: Plan, counts: dict[str, int]) -> None:
    import asyncpg

    conn = await asyncpg.connect(pg_dsn(url))
    try:
        # The rows are consistent by construction: skip the per-row foreign-key triggers (the
        # indexes are still maintained, as they would be on a live database).
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("SET synchronous_commit = off")
        for table, rows in generate(plan):
            if rows:
                await conn.copy_records_to_table(table, records=rows, columns=COLUMNS[table])
                counts[table] += len(rows)
                info(f"  {table}: +{len(rows)} (total {counts[table]})")
        for table in ("contact", "response"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    finally:
        await conn.close()


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # SQLAlchemy's own storage format for SQLite: naive UTC, always with microseconds.
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, bool):
        return int(value)
    return value


def _load_sqlite(url: str, plan: Plan, counts: dict[str, int]) -> None:
    conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-400000")  # 400 MB: index pages stay in memory
        for table, rows in generate(plan):
            if not rows:
                continue
            columns = COLUMNS[table]
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})"
            )
            conn.execute("BEGIN")
            conn.executemany(sql, ([_sqlite_value(v) for v in row] for row in rows))
            conn.execute("COMMIT")
            counts[table] += len(rows)
            info(f"  {table}: +{len(rows)} (total {counts[table]})")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def analyze(backend: str, url: str) -> None:
    if backend == "postgresql":

        async def run() -> None:
            import asyncpg

            conn = await asyncpg.connect(pg_dsn(url))
            try:
                # VACUUM too: a live database's autovacuum would have set the visibility map,
                # which index-only scans depend on. CHECKPOINT: otherwise the checkpointer
                # writes the loaded gigabyte out during the timings (a 2x outlier was seen).
                await conn.execute("VACUUM (ANALYZE)")
                await conn.execute("CHECKPOINT")
            finally:
                await conn.close()

        asyncio.run(run())
        return
    conn = sqlite3.connect(sqlite_path(url))
    try:
        conn.execute("ANALYZE")
    finally:
        conn.close()


# --------------------------------------------------------------------------- the server


def server_env(url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "SURVEYBOT_DATABASE_URL": url,
        "SURVEYBOT_LOG_LEVEL": "WARNING",
        "SURVEYBOT_SECRET_KEY": "".join(
            secrets.choice(string.ascii_letters + string.digits) for _ in range(32)
        ),
        # Not under test: the campaign scheduler, the outbox's idle polling (60 s is the most
        # the setting takes) and the tagging ticks (an hour; the start-up sweep still runs).
        "SURVEYBOT_SCHEDULER": "false",
        "SURVEYBOT_DISPATCH_INTERVAL_SECONDS": "60",
        "SURVEYBOT_TAGGING_INTERVAL_SECONDS": "3600",
    }
    env.pop("SURVEYBOT_PUBLIC_URL", None)
    env.pop("SURVEYBOT_SURVEYS_FILE", None)
    return env


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [SURVEYBOT, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"surveybot {' '.join(args)} failed: {done.stderr or done.stdout}")
    return done.stdout


def start_server(env: dict[str, str], workdir: Path) -> Server:
    port = free_port()
    log_path = workdir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [SURVEYBOT, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    server = Server(f"http://127.0.0.1:{port}", env, process, log_path, stop_timeout=15)
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process, all its threads (aiosqlite's included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (the peak since start or the last reset) in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = round(int(value.split()[0]) / 1024, 1)
    return found


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux 4.0+), so the next peak is the
    export's own and not that of an earlier report; False when the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def wait_idle(server: Server, backend: str, url: str) -> float:
    """Wait until the start-up tagging sweep (one pass over every comment) has finished: the
    server uses no CPU for a second and, on PostgreSQL, runs no query."""
    started = time.perf_counter()
    quiet = 0
    while time.perf_counter() - started < IDLE_TIMEOUT:
        before = cpu_seconds(server.process.pid)
        time.sleep(1.0)
        busy = cpu_seconds(server.process.pid) - before > 0.03
        if not busy and backend == "postgresql":
            busy = asyncio.run(_pg_active(url)) > 0
        quiet = 0 if busy else quiet + 1
        if quiet >= 3:
            break
    return round(time.perf_counter() - started, 1)


async def _pg_active(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(pg_dsn(url))
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state = 'active' AND pid <> pg_backend_pid()"
            )
        )
    finally:
        await conn.close()


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Periods:
    """Query parameters of the two periods (`to` is an inclusive date, as the API reads it)."""

    today: date

    @property
    def to(self) -> str:
        return self.today.isoformat()

    @property
    def from_24(self) -> str:
        return (self.today - timedelta(days=730)).isoformat()

    @property
    def from_12(self) -> str:
        return (self.today - timedelta(days=365)).isoformat()


def figures(seconds: list[float], cpu: list[float], sizes: list[int]) -> dict[str, Any]:
    return {
        "median_s": round(statistics.median(seconds), 3),
        "max_s": round(max(seconds), 3),
        "runs_s": [round(s, 3) for s in seconds],
        # Wall time the server spent in Python (the rest: waiting for the database).
        "server_cpu_median_s": round(statistics.median(cpu), 3),
        "bytes": sizes[-1],
    }


def timed_get(
    client: httpx.Client, pid: int, path: str, params: dict[str, str], repeats: int
) -> tuple[dict[str, Any], httpx.Response]:
    """One warm-up, then `repeats` timed GETs; every one must answer 200."""
    seconds, cpu, sizes = [], [], []
    answer = None
    for run in range(repeats + 1):
        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        answer = client.get(path, params=params)
        elapsed = time.perf_counter() - started
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {answer.status_code}: {answer.text[:300]}")
        if run:  # the first is the warm-up
            seconds.append(elapsed)
            cpu.append(cpu_seconds(pid) - cpu_before)
            sizes.append(len(answer.content))
    assert answer is not None
    info(f"  {path} {params}: median {statistics.median(seconds):.3f}s, max {max(seconds):.3f}s")
    return figures(seconds, cpu, sizes), answer


def sign_in(client: httpx.Client, api_key: str) -> bool:
    """Sign in to the dashboard as a browser does (form token + cookies); False when the
    dashboard has no sign-in page."""
    form = client.get("/dashboard/signin")
    if form.status_code == 404:
        return False
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    if form.status_code != 200 or token is None:
        raise RuntimeError(f"sign-in form: HTTP {form.status_code}: {form.text[:300]}")
    done = client.post(
        "/dashboard/signin", data={"csrf": token.group(1), "next": "/dashboard", "key": api_key}
    )
    if done.status_code != 303:
        raise RuntimeError(f"sign-in: HTTP {done.status_code}: {done.text[:300]}")
    return True


def dashboard_in_process(url: str, periods: Periods, repeats: int) -> dict[str, Any]:
    """build_dashboard in this process, when the server has no dashboard pages to ask."""
    from bot.insight.dashboard import build_dashboard
    from storage.database import create_engine, read_session_factory
    from storage.uow import UnitOfWork

    async def run() -> list[float]:
        engine = create_engine(url)
        sessions = read_session_factory(engine)
        params = {"from": [periods.from_12], "to": [periods.to]}
        seconds = []
        try:
            for run in range(repeats + 1):
                started = time.perf_counter()
                async with UnitOfWork(sessions) as uow:
                    await build_dashboard(uow, NPS_KEY, params, now=datetime.now(UTC))
                if run:
                    seconds.append(time.perf_counter() - started)
        finally:
            await engine.dispose()
        return seconds

    seconds = asyncio.run(run())
    return {
        "median_s": round(statistics.median(seconds), 3),
        "max_s": round(max(seconds), 3),
        "runs_s": [round(s, 3) for s in seconds],
    }


RAW_SQL = {
    "postgresql": (
        "SELECT to_char(answered_at AT TIME ZONE 'UTC', 'YYYY-MM'), channel,"
        " properties ->> 'segment', score, count(*) FROM response"
        " WHERE survey_id = $1 AND answered_at >= $2 AND answered_at < $3"
        " GROUP BY 1, 2, 3, 4"
    ),
    "sqlite": (
        "SELECT strftime('%Y-%m', answered_at), channel, json_extract(properties, '$.segment'),"
        " score, count(*) FROM response"
        " WHERE survey_id = ? AND answered_at >= ? AND answered_at < ?"
        " GROUP BY 1, 2, 3, 4"
    ),
}


def raw_grouped(
    backend: str, url: str, survey_id: int, since: datetime, until: datetime, repeats: int
) -> dict[str, Any]:
    """The hand-written GROUP BY behind the grouped report, one warm-up and `repeats` runs."""
    if backend == "postgresql":
        seconds, rows = asyncio.run(_raw_pg(url, survey_id, since, until, repeats))
    else:
        seconds, rows = [], []
        conn = sqlite3.connect(sqlite_path(url))
        try:
            bounds = [_sqlite_value(since), _sqlite_value(until)]
            for run in range(repeats + 1):
                started = time.perf_counter()
                rows = conn.execute(RAW_SQL["sqlite"], [survey_id, *bounds]).fetchall()
                if run:
                    seconds.append(time.perf_counter() - started)
        finally:
            conn.close()
    info(f"  raw GROUP BY: median {statistics.median(seconds):.3f}s")
    return {
        "median_s": round(statistics.median(seconds), 3),
        "max_s": round(max(seconds), 3),
        "runs_s": [round(s, 3) for s in seconds],
        "rows": len(rows),
        "groups": len({tuple(row[:3]) for row in rows}),
        "responses": sum(row[4] for row in rows),
    }


async def _raw_pg(
    url: str, survey_id: int, since: datetime, until: datetime, repeats: int
) -> tuple[list[float], list[Any]]:
    import asyncpg

    conn = await asyncpg.connect(pg_dsn(url))
    seconds: list[float] = []
    rows: list[Any] = []
    try:
        statement = await conn.prepare(RAW_SQL["postgresql"])
        for run in range(repeats + 1):
            started = time.perf_counter()
            rows = await statement.fetch(survey_id, since, until)
            if run:
                seconds.append(time.perf_counter() - started)
    finally:
        await conn.close()
    return seconds, rows


class RssSampler(threading.Thread):
    """VmRSS of a process every 50 ms: a cross-check of VmHWM, and the only peak when the
    kernel will not reset VmHWM."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.05):
            try:
                self.peak = max(self.peak, memory_mb(self.pid).get("VmRSS", 0.0))
            except OSError:
                return


def export_http(client: httpx.Client, pid: int) -> dict[str, Any]:
    """Every response as CSV through the API, streamed; the server's memory around it."""
    before = memory_mb(pid)
    was_reset = reset_peak(pid)
    sampler = RssSampler(pid)
    sampler.start()
    size = lines = 0
    started = time.perf_counter()
    params = {"survey": NPS_KEY, "format": "csv"}
    with client.stream("GET", "/api/v1/responses", params=params) as answer:
        if answer.status_code != 200:
            raise RuntimeError(f"CSV export: HTTP {answer.status_code}: {answer.read()[:300]!r}")
        for chunk in answer.iter_raw():
            size += len(chunk)
            lines += chunk.count(b"\n")  # the comments hold no line breaks
    seconds = time.perf_counter() - started
    sampler.stopped.set()
    sampler.join()
    after = memory_mb(pid)
    result = {
        "seconds": round(seconds, 1),
        "bytes": size,
        "rows": lines - 1,  # the header
        "rss_before_mb": before.get("VmRSS"),
        "peak_before_mb": before.get("VmHWM"),
        "peak_rss_mb": after.get("VmHWM") if was_reset else sampler.peak,
        # What the export itself added on top of what the server already held.
        "growth_mb": round(
            (after.get("VmHWM") if was_reset else sampler.peak) - before.get("VmRSS", 0.0), 1
        ),
        "peak_rss_sampled_mb": sampler.peak,
        "rss_after_mb": after.get("VmRSS"),
        "peak_reset": was_reset,
    }
    info(f"  CSV over HTTP: {json.dumps(result)}")
    return result


TIME = Path("/usr/bin/time")


def run_measured(args: list[str], env: dict[str, str], workdir: Path) -> tuple[int, float, float]:
    """(exit code, seconds, peak RSS in MB) of one command.

    Not wait4's or RUSAGE_CHILDREN's ru_maxrss: Linux carries the parent's high-water mark
    across fork and exec, so a child of this (large, after loading) process would report this
    process's size. GNU time forks from a small process; without it, VmHWM (which belongs to
    the new program's memory alone) is polled until the command exits.
    """
    peak_file = workdir / "peak.txt"
    with (workdir / "command.log").open("wb") as log:
        started = time.perf_counter()
        if TIME.exists():
            timed = [str(TIME), "-f", "%M", "-o", str(peak_file), *args]
            done = subprocess.run(timed, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
            code, seconds = done.returncode, time.perf_counter() - started
            lines = peak_file.read_text().split()
            peak = int(lines[-1]) / 1024 if lines else 0.0
        else:
            process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
            peak = 0.0
            while process.poll() is None:
                try:
                    peak = max(peak, memory_mb(process.pid).get("VmHWM", 0.0))
                except OSError:  # it has just exited
                    pass
                time.sleep(0.05)
            code, seconds = process.returncode, time.perf_counter() - started
    return code, seconds, round(peak, 1)


def export_cli(env: dict[str, str], workdir: Path) -> dict[str, Any]:
    """`surveybot export responses --output FILE`: seconds, size, rows and its peak RSS, and
    the peak of the same command on a survey that does not exist (the imports, the database
    opened, no rows), to tell the export's own memory from the process's floor."""
    target = workdir / "export.csv"
    args = [SURVEYBOT, "export", "responses", "--output", str(target), "--survey"]
    _, _, floor = run_measured([*args, "no-such-survey"], env, workdir)
    code, seconds, peak = run_measured([*args, NPS_KEY], env, workdir)
    if code != 0:
        log_text = (workdir / "command.log").read_text(errors="replace")[-500:]
        raise RuntimeError(f"surveybot export failed ({code}): {log_text}")
    lines = 0
    with target.open("rb") as exported:
        while block := exported.read(1 << 20):
            lines += block.count(b"\n")
    result = {
        "seconds": round(seconds, 1),
        "bytes": target.stat().st_size,
        "rows": lines - 1,
        "peak_rss_mb": peak,
        "floor_peak_rss_mb": floor,
    }
    target.unlink()
    info(f"  CSV by the CLI: {json.dumps(result)}")
    return result


# --------------------------------------------------------------------------- --explain


def explain(backend: str, url: str, periods: Periods, out_dir: Path) -> dict[str, Any]:
    """Run each view in this process, time every statement it sends, and write the plans of
    the slow ones: where each view's time goes, statement by statement."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_explain(backend, url, periods, out_dir))


async def _explain(backend: str, url: str, periods: Periods, out_dir: Path) -> dict[str, Any]:
    from sqlalchemy import event

    from bot.insight.dashboard import build_dashboard
    from bot.insight.filters import parse
    from bot.insight.scores import build_report, comparison_period, find_survey, period
    from bot.insight.theme_counts import theme_report
    from storage.database import create_engine, read_session_factory
    from storage.uow import UnitOfWork

    engine = create_engine(url)
    sessions = read_session_factory(engine)
    log: list[dict[str, Any]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        conn.info["started"] = time.perf_counter()

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        elapsed = time.perf_counter() - conn.info.pop("started", time.perf_counter())
        log.append({"sql": statement, "params": parameters, "ms": elapsed * 1000})

    async def scores(from_: str, compare: str | None) -> None:
        async with UnitOfWork(sessions) as uow:
            row = await find_survey(uow, NPS_KEY)
            since, until = period(from_, periods.to)
            filters = parse({}, since=since, until=until)
            against = comparison_period(compare, None, None, filters, now=datetime.now(UTC))
            await build_report(
                uow, row, filters, group_by=("month", "channel", "segment"), against=against
            )

    async def themes() -> None:
        async with UnitOfWork(sessions) as uow:
            row = await find_survey(uow, NPS_KEY)
            since, until = period(periods.from_12, periods.to)
            filters = parse({}, since=since, until=until)
            against = comparison_period("previous", None, None, filters, now=datetime.now(UTC))
            await theme_report(uow, row, filters, against=against, proposals=False)

    async def dashboard() -> None:
        params = {"from": [periods.from_12], "to": [periods.to]}
        async with UnitOfWork(sessions) as uow:
            await build_dashboard(uow, NPS_KEY, params, now=datetime.now(UTC))

    views: dict[str, Callable[[], Any]] = {
        "scores_grouped": lambda: scores(periods.from_24, None),
        "scores_grouped_compare": lambda: scores(periods.from_12, "previous"),
        "dashboard": dashboard,
        "themes": themes,
    }
    summary: dict[str, Any] = {}
    try:
        for name, view in views.items():
            await view()  # warm-up, as the HTTP timings had
            log.clear()
            started = time.perf_counter()
            await view()
            total = time.perf_counter() - started
            statements = [dict(item) for item in log]
            plans = await _plans(backend, url, statements)
            lines = [f"# {name}: {total * 1000:.0f} ms in all, {len(statements)} statements\n"]
            for i, item in enumerate(statements):
                lines.append(f"\n## statement {i}: {item['ms']:.1f} ms\n{item['sql']}\n")
                lines.append(f"-- parameters: {item['params']!r}\n")
                if plans.get(i):
                    lines.append(plans[i] + "\n")
            (out_dir / f"{backend}-{name}.txt").write_text("".join(lines))
            in_database = sum(item["ms"] for item in statements)
            summary[name] = {
                "total_ms": round(total * 1000, 1),
                "statements": len(statements),
                "statements_ms": round(in_database, 1),
                # Building the report from the rows, outside the database (no HTTP here).
                "python_ms": round(total * 1000 - in_database, 1),
                "slowest": [
                    {"ms": round(item["ms"], 1), "sql": " ".join(item["sql"].split())[:120]}
                    for item in sorted(statements, key=lambda item: -item["ms"])[:5]
                ],
            }
            info(f"  explained {name}: {total * 1000:.0f} ms, {len(statements)} statements")
    finally:
        await engine.dispose()
    return summary


async def _plans(backend: str, url: str, statements: list[dict[str, Any]]) -> dict[int, str]:
    """The plan of every statement that took 20 ms or more."""
    slow = [i for i, item in enumerate(statements) if item["ms"] >= 20]
    plans: dict[int, str] = {}
    if backend == "postgresql":
        import asyncpg

        conn = await asyncpg.connect(pg_dsn(url))
        try:
            for i in slow:
                item = statements[i]
                rows = await conn.fetch(
                    "EXPLAIN (ANALYZE, BUFFERS, VERBOSE) " + item["sql"], *item["params"]
                )
                plans[i] = "\n".join(row[0] for row in rows)
        finally:
            await conn.close()
        return plans
    conn = sqlite3.connect(sqlite_path(url))
    try:
        for i in slow:
            item = statements[i]
            rows = conn.execute("EXPLAIN QUERY PLAN " + item["sql"], item["params"]).fetchall()
            plans[i] = "\n".join(f"{row[0]:>4} {row[1]:>4} {row[3]}" for row in rows)
    finally:
        conn.close()
    return plans


# --------------------------------------------------------------------------- one backend


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"surveybot-report-{backend}-") as tmp:
        workdir = Path(tmp)
        try:
            with backend_database(backend, workdir, info, name="report") as url:
                return measure(backend, url, workdir, args)
        except BackendUnavailable as exc:
            return {"error": str(exc)}


def measure(backend: str, url: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    server = None
    try:
        env = server_env(url)
        info(f"{backend}: schema and surveys")
        prepare_schema(url, env, workdir)
        nps_id, csat_id, version = survey_ids(url)
        now = datetime.now(UTC)
        periods = Periods(now.date())
        start = datetime.combine(date.fromisoformat(periods.from_24), datetime.min.time(), UTC)
        plan = Plan(
            responses=args.responses,
            start=start,
            end=now - timedelta(minutes=1),
            nps_id=nps_id,
            csat_id=csat_id,
            theme_version=version,
            contacts=max(1000, args.responses // 5),
        )
        info(f"{backend}: loading {args.responses} responses")
        result: dict[str, Any] = {"load": load(backend, url, plan)}
        info(f"{backend}: loaded {json.dumps(result['load'])}; starting surveybot serve")

        server = start_server(env, workdir)
        api_key = cli(env, "apikey", "create", "report").strip().splitlines()[-1].strip()
        result["startup_sweep_s"] = wait_idle(server, backend, url)
        result["server_rss_idle_mb"] = memory_mb(server.process.pid).get("VmRSS")
        info(f"{backend}: server idle after {result['startup_sweep_s']}s; timing")
        result.update(time_views(server, backend, url, api_key, plan, periods, args))
        with make_client(server, api_key) as client:
            result["export_http"] = export_http(client, server.process.pid)
        result["server_rss_end_mb"] = memory_mb(server.process.pid).get("VmRSS")
        server.stop()
        server = None
        result["export_cli"] = export_cli(env, workdir)
        result["aims"] = aims(backend, result)
        if args.explain:
            result["explain"] = explain(backend, url, periods, Path(args.explain))
        return result
    except Exception as exc:
        tail = server.log_tail() if server else ""
        info(f"{backend}: failed: {exc!r}\n{tail}")
        return {"error": f"{type(exc).__name__}: {exc}"[:500]}
    finally:
        if server is not None:
            server.stop()


def make_client(server: Server, api_key: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=httpx.Timeout(REQUEST_TIMEOUT),
    )


def time_views(
    server: Server,
    backend: str,
    url: str,
    api_key: str,
    plan: Plan,
    periods: Periods,
    args: argparse.Namespace,
) -> dict[str, Any]:
    pid, repeats = server.process.pid, args.repeats
    scores_path = f"/api/v1/surveys/{NPS_KEY}/scores"
    grouped = {"from": periods.from_24, "to": periods.to, "group_by": "month,channel,segment"}
    out: dict[str, Any] = {}
    with make_client(server, api_key) as client:
        out["scores_grouped"], answer = timed_get(client, pid, scores_path, grouped, repeats)
        report = answer.json()
        out["scores_grouped"]["groups"] = len(report["groups"])
        out["scores_grouped"]["responses"] = report["responses"]
        # Beside it, in the same run: the GROUP BY that answers it, by hand.
        since = datetime.combine(date.fromisoformat(periods.from_24), datetime.min.time(), UTC)
        until = datetime.combine(periods.today + timedelta(days=1), datetime.min.time(), UTC)
        out["raw_sql"] = raw_grouped(backend, url, plan.nps_id, since, until, repeats)
        out["ratio"] = round(out["scores_grouped"]["median_s"] / out["raw_sql"]["median_s"], 2)
        raw = out["raw_sql"]
        same = raw["responses"] == report["responses"] and raw["groups"] == len(report["groups"])
        out["same_counts"] = same
        compared = {**grouped, "from": periods.from_12, "compare": "previous"}
        out["scores_grouped_compare"], _ = timed_get(client, pid, scores_path, compared, repeats)
        themes = {"from": periods.from_12, "to": periods.to, "compare": "previous"}
        themes["propose"] = "false"
        out["themes"], _ = timed_get(
            client, pid, f"/api/v1/surveys/{NPS_KEY}/themes", themes, repeats
        )
    with httpx.Client(base_url=server.url, timeout=httpx.Timeout(REQUEST_TIMEOUT)) as browser:
        if sign_in(browser, api_key):
            page = {"from": periods.from_12, "to": periods.to}
            path = f"/dashboard/surveys/{NPS_KEY}"
            out["dashboard"], _ = timed_get(browser, pid, path, page, repeats)
            out["dashboard"]["via"] = "http"
        else:
            out["dashboard"] = dashboard_in_process(url, periods, repeats)
            out["dashboard"]["via"] = "in-process build_dashboard"
    return out


def aims(backend: str, result: dict[str, Any]) -> dict[str, Any]:
    def aim(value: float | None, limit: float) -> dict[str, Any]:
        return {"value": value, "aim": limit, "met": value is not None and value <= limit}

    http_peak = result["export_http"]["peak_rss_mb"]
    cli_peak = result["export_cli"]["peak_rss_mb"]
    limit = AIMS["export_peak_rss_mb"]
    return {
        "grouped_report_s": aim(
            result["scores_grouped"]["median_s"], AIMS["grouped_report_s"][backend]
        ),
        "grouped_report_ratio": aim(result["ratio"], AIMS["grouped_report_ratio"]),
        "dashboard_s": aim(result["dashboard"]["median_s"], AIMS["dashboard_s"]),
        "export_http_peak_rss_mb": {"value": http_peak, "aim": limit, "met": http_peak < limit},
        "export_cli_peak_rss_mb": {"value": cli_peak, "aim": limit, "met": cli_peak < limit},
    }


def git_head() -> str | None:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=1_000_000, help="N (default 1000000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per view (default 5)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument(
        "--explain",
        metavar="DIR",
        default=None,
        help="also time every statement of each view in-process and write the slow ones' plans",
    )
    args = parser.parse_args(argv)
    if args.responses < 1000 or args.repeats < 1:
        parser.error("--responses must be at least 1000 and --repeats at least 1")

    result: dict[str, Any] = {
        "benchmark": "report",
        "responses": args.responses,
        "repeats": args.repeats,
        "commit": git_head(),
    }
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        started = time.perf_counter()
        result[backend] = run_backend(backend, args)
        result[backend]["run_seconds"] = round(time.perf_counter() - started, 1)
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(terse=True),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
