"""A real `surveybot serve` process on a free loopback port, and the CLI run as a user runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
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


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "SURVEYBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'e2e.db'}",
        "SURVEYBOT_LOG_LEVEL": "WARNING",
    }
    env.pop("SURVEYBOT_PUBLIC_URL", None)
    env.pop("SURVEYBOT_SECRET_KEY", None)
    log = (tmp_path / "serve.log").open("wb")
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
            pytest.fail(f"surveybot serve did not start:\n{(tmp_path / 'serve.log').read_text()}")
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
