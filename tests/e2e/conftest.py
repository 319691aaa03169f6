"""A real `surveybot serve` process on a free loopback port, and the CLI run as a user runs it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

SURVEYBOT = str(Path(sys.executable).with_name("surveybot"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SURVEYBOT, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def load_and_key(self, surveys_yaml: str, workdir: Path) -> str:
        """Load surveys and create an API key with the CLI, as a user does; returns the key."""
        path = workdir / "surveys.yaml"
        path.write_text(surveys_yaml, encoding="utf-8")
        loaded = self.cli("surveys", "load", str(path))
        assert loaded.returncode == 0, loaded.stderr
        created = self.cli("apikey", "create", "e2e")
        assert created.returncode == 0, created.stderr
        return created.stdout.strip().splitlines()[-1]


@contextmanager
def running_server(tmp_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """`surveybot serve` on a free port with a fresh SQLite file, plus `extra_env` settings."""
    port = free_port()
    env = {
        **os.environ,
        "SURVEYBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'e2e.db'}",
        "SURVEYBOT_LOG_LEVEL": "WARNING",
    }
    for name in [
        k
        for k in env
        if k.startswith("SURVEYBOT_") and k not in ("SURVEYBOT_DATABASE_URL", "SURVEYBOT_LOG_LEVEL")
    ]:
        env.pop(name)
    env.update(extra_env or {})
    env.setdefault("SURVEYBOT_PORT", str(port))
    port = int(env["SURVEYBOT_PORT"])
    log_path = tmp_path / "serve.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [SURVEYBOT, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            pytest.fail(f"surveybot serve did not start:\n{log_path.read_text()}")
        time.sleep(0.1)
    try:
        yield Server(url=url, env=env, process=process)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with running_server(tmp_path) as running:
        yield running


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A `surveybot worker` process with `env`, its output in `log`."""
    with log.open("wb") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [SURVEYBOT, "worker"], env=env, stdout=output, stderr=subprocess.STDOUT
        )


async def wait_until(condition: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    """Poll `condition` until it holds; fail the test naming `what` after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}")
