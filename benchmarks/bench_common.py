"""What the benchmarks share: the survey they load, ports, percentiles, CPU and databases."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SURVEYBOT = str(Path(sys.executable).with_name("surveybot"))
PG_ADMIN_DSN = os.environ.get("SURVEYBOT_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
SURVEY_KEY = "bench-csat"
SURVEY_YAML = f"""\
surveys:
  - key: {SURVEY_KEY}
    metric: csat
    question: "How did we do?"
    throttle_days: 0
    quiet_hours: {{}}
"""
COMMENTS = ("Quick and friendly.", "Took a while but solved.", "Thanks!", "Could be faster.")
REQUEST_TIMEOUT = 30.0
SETUP_CONCURRENCY = 16
STARTUP_TIMEOUT = 30.0


class BackendUnavailable(Exception):
    """Raised when a backend's database cannot be prepared (e.g. PostgreSQL unreachable)."""


def logger(name: str) -> Callable[[str], None]:
    """Progress lines on stderr (stdout carries only the JSON line)."""

    def info(message: str) -> None:
        print(f"[{name}] {message}", file=sys.stderr, flush=True)

    return info


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil(n*p/100), at least 1
    return sorted_values[int(rank) - 1]


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live descendants (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += stats.get(current, (0, 0.0))[1]
        todo.extend(child for child, (parent, _) in stats.items() if parent == current)
    return total


async def _pg_admin(sql: str) -> None:
    import asyncpg  # a dependency of surveybot's PostgreSQL support

    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def backend_database(
    backend: str, workdir: Path, info: Callable[[str], None], name: str = "bench"
) -> Iterator[str]:
    """A fresh database URL: an SQLite file in workdir, or a new PostgreSQL database (dropped)."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'{name}.db'}"
        return
    if backend != "postgresql":
        raise BackendUnavailable(f"unknown backend {backend!r}")
    pg_name = f"surveybot_bench_{secrets.token_hex(4)}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{pg_name}"'))
    except Exception as exc:  # unreachable server, refused login, …
        raise BackendUnavailable(
            f"PostgreSQL at {PG_ADMIN_DSN}: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{pg_name}"
    finally:
        try:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
        except Exception as exc:
            info(f"could not drop database {pg_name}: {exc}")


def start_profiler(pid: int, out: str, seconds: float, rate: int = 100) -> subprocess.Popen[bytes]:
    """py-spy (installed beside this Python) recording process `pid` as raw stacks into `out`."""
    py_spy = Path(sys.executable).with_name("py-spy")
    profiler = subprocess.Popen(
        [
            *(str(py_spy), "record", "--pid", str(pid), "--format", "raw", "--rate", str(rate)),
            *("--duration", str(int(seconds)), "-o", out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # let it attach
    print(f"  py-spy recording to {out}", file=sys.stderr, flush=True)
    return profiler


def stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is None or profiler.poll() is not None:
        return
    profiler.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
    try:
        profiler.wait(timeout=30)
    except subprocess.TimeoutExpired:
        profiler.kill()
        profiler.wait(timeout=10)


class RawHttp(asyncio.Protocol):
    """A minimal HTTP/1.1 keep-alive server on raw asyncio, cheap enough that a benchmark
    measures the client, not the receiver: subclasses answer each request in `answer`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            lines = self.buffer[:head_end].split(b"\r\n")
            headers: dict[bytes, bytes] = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            end = head_end + 4 + int(headers.get(b"content-length", b"0"))
            if len(self.buffer) < end:
                return
            body = self.buffer[head_end + 4 : end]
            self.buffer = self.buffer[end:]
            status, reply = self.answer(lines[0], headers, body)
            self.transport.write(
                b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (status, len(reply), reply)
            )

    def answer(
        self, request_line: bytes, headers: dict[bytes, bytes], body: bytes
    ) -> tuple[bytes, bytes]:
        """The status line's tail (b"200 OK") and the JSON body for one request."""
        raise NotImplementedError


@dataclass
class Server:
    """A `surveybot serve` (or bare) process on a loopback port, its environment and its log."""

    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path
    stop_timeout: float = 10.0  # seconds to shut down after SIGINT before it is killed

    def cli(self, *args: str) -> str:
        """Run `surveybot ARGS` against the same settings; its output (a failure raises)."""
        done = subprocess.run(
            [SURVEYBOT, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"surveybot {' '.join(args)} failed: {done.stderr or done.stdout}")
        return done.stdout

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
