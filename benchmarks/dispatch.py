"""Enqueue and dispatch N invitations to a loopback channel; compare with a bare asyncpg loop.

For each backend: N contacts are written in bulk (not timed); then, in a fresh process (so its
peak memory is its own), a campaign run enqueues one invitation per contact through surveybot's
streaming campaign path and surveybot's dispatcher sends them all to a loopback receiver (another
process) with rate limits off. On PostgreSQL the invitations are then reset and a bare asyncpg
loop — claim with FOR UPDATE SKIP LOCKED, POST to the same receiver, mark sent — sends the same
rows, in the same run. One JSON line on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import aiohttp
from bench_common import BackendUnavailable, backend_database, free_port, logger
from loopback import LoopbackChannel, post
from sqlalchemy import func, insert, select, update

from bot.campaigns.management import Campaigns
from bot.invitations.suppression import Suppressions
from bot.runtime.settings import Settings
from bot.runtime.survey_files import load_surveys
from bot.startup.bootstrap import build_services
from bot.wiring import sms
from storage.database import create_engine, normalize_url, session_factory
from storage.migrate import upgrade
from storage.models import Contact, Invitation, Message
from surveys.campaigns import CampaignSpec
from surveys.definitions import Survey

info = logger("dispatch")
HERE = Path(__file__).resolve().parent
SURVEY = Survey.model_validate(
    {
        "key": "bench-nps",
        "metric": "nps",
        "question": "How likely are you to recommend us?",
        "quiet_hours": {},
        "reminders": 0,
        "throttle_days": 0,
    }
)
CAMPAIGN = CampaignSpec.model_validate(
    {"name": "bench", "survey": "bench-nps", "audience": "plan = pro", "every_months": 3}
)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU this process has used so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def seed(url: str, count: int) -> None:
    """Schema, the survey, the campaign, and `count` contacts written in bulk (not timed)."""
    engine = create_engine(normalize_url(url))
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        await load_surveys(sessions, [SURVEY])
        now = datetime.now(UTC)
        for start in range(0, count, 5000):
            rows = [
                {
                    "external_id": f"c{n}",
                    "phone": f"+1415{n:07d}",
                    "locale": "en",
                    "properties": {"plan": "pro", "region": "EU"},
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(start, min(count, start + 5000))
            ]
            async with engine.begin() as conn:
                await conn.execute(insert(Contact), rows)
        await Campaigns(
            sessions=sessions,
            clock=lambda: datetime.now(UTC),
            channels=[sms.INFO],
            suppression=Suppressions.keyed_by("bench-secret-key-0123456789"),
        ).create(CAMPAIGN)
    finally:
        await engine.dispose()


async def phase_surveybot(url: str, receiver: str, args: argparse.Namespace) -> dict[str, Any]:
    """Enqueue through a campaign run, then dispatch with surveybot's dispatcher."""
    settings = Settings(
        database_url=url,
        public_url="http://bench.invalid",
        secret_key="bench-secret-key-0123456789",
        sms_rate_per_second=0,
        dispatch_batch_size=args.batch,
        dispatch_concurrency=args.concurrency,
        log_level="WARNING",
        _env_file=None,  # type: ignore[call-arg]
    )
    channel = LoopbackChannel("sms", receiver, args.concurrency * args.loops)
    services = await build_services(settings, channels={"sms": channel})
    try:
        await services.start_channels()
        campaigns = Campaigns(
            sessions=services.sessions,
            clock=services.clock,
            channels=services.catalog,
            suppression=services.suppression,
        )
        started = time.perf_counter()
        run = await campaigns.run_now(CAMPAIGN.name)
        finished = await campaigns.execute_run(run.id or 0)
        enqueue_s = time.perf_counter() - started
        assert finished is not None
        info(f"enqueued {finished.invited} in {enqueue_s:.1f} s")

        async def loop() -> None:
            while await services.outbox.send_due() > 0:
                pass

        started, cpu = time.perf_counter(), cpu_seconds()
        await asyncio.gather(*(loop() for _ in range(args.loops)))
        dispatch_s = time.perf_counter() - started
        cpu = cpu_seconds() - cpu
        async with services.read_sessions() as session:
            sent = (
                await session.execute(select(func.count()).where(Invitation.status == "sent"))
            ).scalar_one()
        return {
            "enqueued": finished.invited,
            "enqueue_s": round(enqueue_s, 2),
            "enqueue_per_s": round(finished.invited / enqueue_s),
            "sent": sent,
            "dispatch_s": round(dispatch_s, 2),
            "dispatch_per_s": round(sent / dispatch_s),
            "end_to_end_per_s": round(sent / (enqueue_s + dispatch_s)),
            "cpu_us_per_send": round(cpu / sent * 1e6),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    finally:
        await services.close()


CLAIM = """
UPDATE invitation AS i SET status = 'sending', lease_until = now() + interval '60 seconds',
       attempts = i.attempts + 1
  FROM contact AS c
 WHERE c.id = i.contact_id AND i.id IN (
       SELECT id FROM invitation WHERE status = 'scheduled' AND send_at <= now()
        ORDER BY send_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING i.id, c.phone
"""
MARK_SENT = """
UPDATE invitation SET status = 'sent', sent_at = now(), lease_until = NULL,
       provider_message_id = $2
 WHERE id = $1
"""


async def phase_bare(url: str, receiver: str, args: argparse.Namespace) -> dict[str, Any]:
    """The floor: asyncpg claims, the same receiver, one executemany to mark the batch sent."""
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    pool = await asyncpg.create_pool(dsn, min_size=args.loops, max_size=args.loops)
    connector = aiohttp.TCPConnector(limit=args.concurrency * args.loops)
    async with aiohttp.ClientSession(connector=connector) as http:
        limit = asyncio.Semaphore(args.concurrency * args.loops)
        target = f"{receiver}/messages"

        async def send(row: Any) -> tuple[str, str]:
            async with limit:
                return row["id"], await post(http, target, row["phone"], SURVEY.question or "")

        async def loop() -> int:
            total = 0
            while True:
                async with pool.acquire() as conn:
                    rows = await conn.fetch(CLAIM, args.batch)
                if not rows:
                    return total
                results = await asyncio.gather(*(send(row) for row in rows))
                async with pool.acquire() as conn:
                    await conn.executemany(MARK_SENT, results)
                total += len(results)

        started, cpu = time.perf_counter(), cpu_seconds()
        sent = sum(await asyncio.gather(*(loop() for _ in range(args.loops))))
        dispatch_s = time.perf_counter() - started
        cpu = cpu_seconds() - cpu
    await pool.close()
    return {
        "sent": sent,
        "dispatch_s": round(dispatch_s, 2),
        "dispatch_per_s": round(sent / dispatch_s),
        "cpu_us_per_send": round(cpu / sent * 1e6),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


async def reset(url: str) -> None:
    """Every invitation due again, as before the surveybot phase sent it."""
    engine = create_engine(normalize_url(url))
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(Invitation).values(
                    status="scheduled", sent_at=None, provider_message_id=None, attempts=0
                )
            )
            await conn.execute(Message.__table__.delete())  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


def run_phase(phase: str, url: str, receiver: str, args: argparse.Namespace) -> dict[str, Any]:
    """A phase in its own process, so its peak memory and its CPU are its own."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        phase,
        "--url",
        url,
        "--receiver",
        receiver,
        "--batch",
        str(args.batch),
        "--concurrency",
        str(args.concurrency),
        "--loops",
        str(args.loops),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=args.timeout, check=False
    )
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"phase {phase} exited {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def receiver_count(url: str) -> int:
    async def ask() -> int:
        async with aiohttp.ClientSession() as http, http.get(f"{url}/count") as reply:
            return int((await reply.json())["count"])

    return asyncio.run(ask())


def bench_backend(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with backend_database(backend, workdir, info, name=f"dispatch-{backend}") as url:
        url = normalize_url(url)
        info(f"{backend}: writing {args.invitations} contacts")
        asyncio.run(seed(url, args.invitations))
        port = free_port()
        receiver_url = f"http://127.0.0.1:{port}"
        receiver = subprocess.Popen(
            [sys.executable, str(HERE / "loopback.py"), "--port", str(port)],
            cwd=HERE,
        )
        try:
            for _ in range(100):
                try:
                    receiver_count(receiver_url)
                    break
                except aiohttp.ClientError:
                    time.sleep(0.05)
            info(f"{backend}: surveybot enqueue + dispatch")
            result: dict[str, Any] = {"surveybot": run_phase("surveybot", url, receiver_url, args)}
            if backend == "postgresql":
                asyncio.run(reset(url))
                info(f"{backend}: bare asyncpg loop on the same rows")
                result["bare_asyncpg"] = run_phase("bare", url, receiver_url, args)
                result["ratio"] = round(
                    result["surveybot"]["dispatch_per_s"]
                    / result["bare_asyncpg"]["dispatch_per_s"],
                    2,
                )
            result["receiver_got"] = receiver_count(receiver_url)
            return result
        finally:
            receiver.terminate()
            receiver.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invitations", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--batch", type=int, default=500, help="invitations claimed per round")
    parser.add_argument("--concurrency", type=int, default=100, help="sends in flight per loop")
    parser.add_argument("--loops", type=int, default=2, help="dispatch loops in the process")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--phase", choices=("surveybot", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--receiver", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        work = phase_surveybot if args.phase == "surveybot" else phase_bare
        print(json.dumps(asyncio.run(work(args.url, args.receiver, args))))
        return
    figures: dict[str, Any] = {
        "benchmark": "dispatch",
        "invitations": args.invitations,
        "batch": args.batch,
        "concurrency": args.concurrency,
        "loops": args.loops,
    }
    with TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            try:
                figures[backend] = bench_backend(backend, args, Path(tmp))
            except BackendUnavailable as exc:
                figures[backend] = {"error": str(exc)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
