"""How long `surveybot --help` takes, and how long `serve` takes to answer /healthz on a new SQLite file.

What it measures
    `help_s`: wall time of `surveybot --help` (a fresh process each time). `serve_ready_s`: wall
    time from starting `surveybot serve` (fresh SQLite file in a temporary folder, web chat only,
    every other SURVEYBOT_* setting removed) to the first 200 from /healthz, polled every 20 ms.
    Each is run R times; the median and the best are printed. The issue's aims: under 0.5 s and
    under 2 s.

How to run
    .venv/bin/python benchmarks/startup.py [--runs R]

    Prints ONE JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

SURVEYBOT = str(Path(sys.executable).with_name("surveybot"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEYBOT_")}
    env["SURVEYBOT_DATABASE_URL"] = f"sqlite:///{database}"
    return env


def time_help() -> float:
    started = time.perf_counter()
    subprocess.run([SURVEYBOT, "--help"], capture_output=True, check=True, timeout=60)
    return time.perf_counter() - started


def time_serve_ready(timeout: float = 60.0) -> float:
    with tempfile.TemporaryDirectory() as folder:
        port = _free_port()
        started = time.perf_counter()
        process = subprocess.Popen(
            [SURVEYBOT, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=_env(Path(folder) / "surveybot.db"),
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while time.perf_counter() - started < timeout:
                try:
                    reply = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
                    if reply.status_code == 200:
                        return time.perf_counter() - started
                except httpx.TransportError:
                    pass
                if process.poll() is not None:
                    raise RuntimeError("surveybot serve exited before it was ready")
                time.sleep(0.02)
            raise RuntimeError(f"surveybot serve was not ready after {timeout} s")
        finally:
            process.terminate()
            process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    time_help()  # the first run pays for a cold file cache; not counted
    helps = [time_help() for _ in range(args.runs)]
    readies = [time_serve_ready() for _ in range(args.runs)]
    result = {
        "benchmark": "startup",
        "runs": args.runs,
        "help_s": {"median": round(statistics.median(helps), 3), "best": round(min(helps), 3)},
        "serve_ready_s": {
            "median": round(statistics.median(readies), 3),
            "best": round(min(readies), 3),
        },
        "aims_s": {"help": 0.5, "serve_ready": 2.0},
        "machine": {"cpus": os.cpu_count(), "load_average_1m_at_end": os.getloadavg()[0]},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
