"""`surveybot serve` refuses 200 MB bodies with 413 without reading them (peak RSS stays flat)."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import running_server

SURVEYS = "surveys:\n  - key: s\n    metric: csat\n"
TWILIO = {
    "SURVEYBOT_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "SURVEYBOT_TWILIO_AUTH_TOKEN": "twilio-auth-token-for-tests",
    "SURVEYBOT_TWILIO_FROM_NUMBER": "+15005550006",
}
BODY = 200 * 1024 * 1024
BLOCK = b"a" * (1024 * 1024)


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident set size so far (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc")


def post_huge(url: str, path: str, *, chunked: bool) -> tuple[bytes, int]:
    """POST 200 MB as fast as the server takes it; (status line, bytes it took before answering)."""
    host, port = url.removeprefix("http://").split(":")
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {BODY}"
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    sent = 0
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(head.encode())
        try:
            while sent < BODY:
                sock.sendall(b"%x\r\n%s\r\n" % (len(BLOCK), BLOCK) if chunked else BLOCK)
                sent += len(BLOCK)
        except OSError:
            pass  # the server answered and closed: the rest is never read
        answer = sock.recv(4096)
    return answer.split(b"\r\n", 1)[0], sent


@pytest.mark.e2e
def test_huge_bodies_are_refused_unread(tmp_path: Path) -> None:
    with running_server(tmp_path, TWILIO) as server:
        key = server.load_and_key(SURVEYS, tmp_path)
        link = httpx.post(
            f"{server.url}/api/v1/triggers",
            headers={"Authorization": f"Bearer {key}"},
            json={"survey": "s", "channel": "web", "contact": {"external_id": "c1"}},
            timeout=10,
        ).json()["link"]
        token = link.rsplit("/", 1)[1]
        assert httpx.get(f"{server.url}/s/{token}/state", timeout=10).status_code == 200
        before = peak_rss_kib(server.process.pid)
        for path in (f"/s/{token}/messages", "/webhooks/twilio/sms", "/api/v1/triggers"):
            for chunked in (False, True):
                status, taken = post_huge(server.url, path, chunked=chunked)
                assert status == b"HTTP/1.1 413 Request Entity Too Large", (path, chunked)
                assert taken < 16 * 1024 * 1024, (path, chunked)  # nowhere near 200 MB
        grown = peak_rss_kib(server.process.pid) - before
        # Reading one of these bodies whole took the server from 466 to 1059 MB before.
        print(f"\npeak RSS {before} KiB before, grew by {grown} KiB under 200 MB bodies")
        assert grown < 50 * 1024, f"peak RSS grew by {grown} KiB"
        # The server is still fine, and ordinary requests pass.
        reply = httpx.post(
            f"{server.url}/s/{token}/messages",
            json={"text": "5", "client_message_id": "m1"},
            timeout=10,
        )
        assert reply.status_code == 200 and reply.json()["status"] == "active"
