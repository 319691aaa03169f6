"""Outbound webhooks across real processes on one PostgreSQL database.

1. A `surveybot serve` and a `surveybot worker` share the deliveries of one subscription whose
   endpoint answers slowly; the worker is killed with SIGKILL while some of its deliveries are
   in flight. The serve process sends what the worker had claimed once the worker's lease
   (`SURVEYBOT_LEASE_SECONDS`, shortened here to the deliveries' floor of 20 s) runs out. Every event
   arrives at least once, signed; an event arrives twice only if its delivery was in flight in
   the killed worker; the delivery log shows them all delivered.
2. Through a real serve: an endpoint answering 500 three times and then 200 gets the event with
   4 attempts in the delivery log; one answering 410 is attempted once and not retried. The
   retries are spaced by the endpoint's `Retry-After: 1` (honoured by the policy) instead of the
   30 s doubling backoff; that schedule itself is tested with a fake clock in
   tests/bot/events/test_webhooks.py.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from storage.database import create_engine
from storage.outbound import Event
from tests.conftest import create_pg_database, drop_pg_database
from tests.e2e.conftest import Server, running_server, start_worker, wait_until
from tests.e2e.webhook_receiver import Request, SlowReceiver, local_tcp_ports

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

SURVEYS = """\
surveys:
  - key: hooks-csat
    metric: csat
    question: "How did we do?"
    throttle_days: 0
    reminders: 0
    quiet_hours: {}
  - key: hooks-quick
    metric: csat
    question: "How did we do?"
    ask_comment: false
    throttle_days: 0
    reminders: 0
    quiet_hours: {}
"""
CONVERSATIONS = 30  # score and comment: three events each
SLOW = 2.0  # seconds the endpoint takes to answer while the worker runs
LEASE = 20.0  # SURVEYBOT_LEASE_SECONDS, and bot.events.posting.MIN_LEASE_SECONDS


@contextmanager
def on_postgres(tmp_path: Path, url: str) -> Iterator[Server]:
    env = {
        "SURVEYBOT_DATABASE_URL": url,
        "SURVEYBOT_LOG_LEVEL": "INFO",
        "SURVEYBOT_SECRET_KEY": "e2e-webhook-workers-secret-key",
        "SURVEYBOT_SCHEDULER": "false",
        "SURVEYBOT_TAGGING_INTERVAL_SECONDS": "3600",
        "SURVEYBOT_LEASE_SECONDS": str(int(LEASE)),
    }
    with running_server(tmp_path, env) as server:
        yield server


def subscribe(server: Server, url: str, secret: str, *options: str) -> str:
    added = server.cli("webhooks", "add", url, "--secret", secret, *options)
    assert added.returncode == 0, added.stderr
    # "webhook wh_… → URL (events)"
    return added.stdout.split()[1]


async def answer_chats(server: Server, key: str, survey: str, texts: list[list[str]]) -> None:
    """One web conversation per item of `texts`, answered over HTTP with those texts."""
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:

        async def one(i: int, answers: list[str]) -> None:
            body = {"survey": survey, "contact": {"external_id": f"hook-{survey}-{i}"}}
            reply = await client.post(
                "/api/v1/triggers", json={**body, "channel": "web"}, headers=headers
            )
            assert reply.status_code == 202, reply.text
            token = reply.json()["link"].rstrip("/").rsplit("/", 1)[-1]
            state = await client.get(f"/s/{token}/state")
            assert state.status_code == 200 and state.json()["status"] == "active", state.text
            for text in answers:
                said = await client.post(
                    f"/s/{token}/messages",
                    json={"text": text, "client_message_id": uuid.uuid4().hex},
                )
                assert said.status_code == 200, said.text
            assert said.json()["status"] == "done", said.text

        await asyncio.gather(*(one(i, answers) for i, answers in enumerate(texts)))


async def event_ids(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set((await conn.execute(select(col(Event.uid)))).scalars())
    finally:
        await engine.dispose()


async def delivery_log(server: Server, key: str, hook_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        reply = await client.get(
            f"/api/v1/webhooks/{hook_id}/deliveries",
            params={"limit": 500},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert reply.status_code == 200, reply.text
    data: list[dict[str, Any]] = reply.json()["data"]
    return data


async def test_a_killed_worker_leaves_its_deliveries_to_serve_after_the_lease(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    name, url = await create_pg_database()
    worker: subprocess.Popen[bytes] | None = None
    try:
        with SlowReceiver(delay=SLOW).in_thread() as receiver, on_postgres(tmp_path, url) as server:
            key = server.load_and_key(SURVEYS, tmp_path)
            hook_id = subscribe(server, f"{receiver.url}/hook", receiver.secret, "--event", "*")
            worker_log = tmp_path / "worker.log"
            worker = start_worker(server.env, worker_log)

            async def worker_ready() -> bool:
                assert worker is not None and worker.poll() is None, worker_log.read_text()
                return "surveybot worker" in worker_log.read_text(errors="replace")

            await wait_until(worker_ready, 30, "the worker to start")
            texts = [[str(1 + i % 5), f"Comment {i}"] for i in range(CONVERSATIONS)]
            await answer_chats(server, key, "hooks-csat", texts)

            # Kill the worker as soon as one of its deliveries is in flight (arrived at the
            # endpoint, not answered yet): the sockets it sends from tell which are its.
            worker_ports: set[int] = set()

            async def worker_has_one_in_flight() -> bool:
                assert worker is not None
                worker_ports.update(local_tcp_ports(worker.pid))
                return any(
                    r.answered is None and r.peer_port in worker_ports for r in receiver.snapshot()
                )

            await wait_until(worker_has_one_in_flight, 30, "a delivery in flight in the worker")
            worker.send_signal(signal.SIGKILL)  # no chance to finish or record anything
            killed_at = time.monotonic()
            assert worker.wait(timeout=10) == -signal.SIGKILL
            receiver.delay = 0.05  # the rest need not be slow

            at_kill = receiver.snapshot()
            in_flight = {
                r.event_id
                for r in at_kill
                if r.peer_port in worker_ports
                # not answered yet, or answered just before the kill and maybe not recorded
                and (r.answered is None or r.answered > killed_at - 1.0)
            }
            unanswered = {
                r.event_id for r in at_kill if r.peer_port in worker_ports and r.answered is None
            }
            written = await event_ids(url)
            assert len(written) == 3 * CONVERSATIONS

            async def all_delivered() -> bool:
                arrived = {r.event_id for r in receiver.snapshot() if r.verified}
                if not written <= arrived:
                    return False
                log = await delivery_log(server, key, hook_id)
                return len(log) == len(written) and all(d["status"] == "delivered" for d in log)

            await wait_until(all_delivered, LEASE + 25, "every event to be delivered")
            log = await delivery_log(server, key, hook_id)
        requests: list[Request] = receiver.snapshot()
        received = Counter(r.event_id for r in requests)
        duplicates = {event for event, n in received.items() if n > 1}
        print(  # the figures for the record (pytest -s)
            f"webhook workers: {len(written)} events, {len(requests)} requests, "
            f"{len(in_flight)} in flight in the killed worker ({len(unanswered)} unanswered), "
            f"{len(duplicates)} duplicates, {time.monotonic() - started:.0f} s"
        )
        assert all(r.verified for r in requests), "a request with a bad signature"
        assert set(received) == written  # every event arrived, and nothing else did
        # Twice only what the killed worker had in flight; what it left unanswered comes again
        # from the serve process, after the lease.
        assert unanswered, "no delivery was in flight in the worker when it was killed"
        assert duplicates <= in_flight, duplicates - in_flight
        assert unanswered <= duplicates
        for event in unanswered:
            again = [r for r in requests if r.event_id == event and r.arrived > killed_at]
            assert again and min(r.arrived for r in again) > killed_at + LEASE - 10
            assert all(r.peer_port not in worker_ports for r in again)
        assert {d["event_id"] for d in log} == written
        assert {d["status"] for d in log} == {"delivered"}
        assert {d["last_status"] for d in log} == {200}
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
        await drop_pg_database(name)


async def test_retried_on_500_until_delivered_and_a_410_is_not_retried(tmp_path: Path) -> None:
    name, url = await create_pg_database()
    try:
        with SlowReceiver().in_thread() as receiver, on_postgres(tmp_path, url) as server:
            key = server.load_and_key(SURVEYS, tmp_path)
            created = ("--event", "response.created", "--filter", "survey=hooks-quick")
            retried = subscribe(
                server,
                f"{receiver.url}/retry",
                receiver.secret,
                *created,
                "--filter",
                "score_min=4",
            )
            gone = subscribe(
                server, f"{receiver.url}/gone", receiver.secret, *created, "--filter", "score_max=2"
            )
            # Retry-After: 1 spaces the retries by a second instead of 30 s doubling.
            receiver.script("/retry", 500, 500, 500, headers={"Retry-After": "1"})
            receiver.script("/gone", 410)
            await answer_chats(server, key, "hooks-quick", [["5"], ["1"]])

            async def settled(hook_id: str, status: str) -> bool:
                log = await delivery_log(server, key, hook_id)
                return len(log) == 1 and log[0]["status"] == status

            await wait_until(lambda: settled(retried, "delivered"), 40, "the retried delivery")
            await wait_until(lambda: settled(gone, "failed"), 10, "the refused delivery")
            await asyncio.sleep(3)  # three more rounds of the deliverer: nothing more is sent
            (delivered,) = await delivery_log(server, key, retried)
            (failed,) = await delivery_log(server, key, gone)
        requests = receiver.snapshot()
        to_retry = [r for r in requests if r.path == "/retry"]
        to_gone = [r for r in requests if r.path == "/gone"]
        assert [r.status for r in to_retry] == [500, 500, 500, 200]
        assert len({r.event_id for r in to_retry}) == 1 and len({r.body for r in to_retry}) == 1
        assert (delivered["status"], delivered["attempts"], delivered["last_status"]) == (
            "delivered",
            4,
            200,
        )
        assert delivered["event_id"] == to_retry[0].event_id
        assert [r.status for r in to_gone] == [410]
        assert (failed["status"], failed["attempts"], failed["last_status"]) == ("failed", 1, 410)
        assert "not retried" in failed["last_error"]
        assert all(r.verified for r in requests)
    finally:
        await drop_pg_database(name)
