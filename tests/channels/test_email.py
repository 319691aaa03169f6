"""The email adapter alone: aiosmtplib against a real SMTP server, refused logins, no server."""

from __future__ import annotations

import pytest

from channels.base import Choice, OutboundMessage, TransientSendError
from channels.email import EmailChannel
from tests.standins.smtp_server import smtp_standin

BASE = "http://chat.example.test"


def _question() -> OutboundMessage:
    return OutboundMessage(
        channel="email",
        address="ana@example.com",
        text="How did we do?",
        choices=(Choice("1", "1"), Choice("2", "2")),
        metadata={"rate_url.1": f"{BASE}/r/t?score=1", "rate_url.2": f"{BASE}/r/t?score=2"},
    )


async def test_a_refused_login_is_transient_and_says_what_to_check() -> None:
    with smtp_standin(login=("surveys", "right")) as server:
        for password, ok in (("wrong", False), ("right", True)):
            channel = EmailChannel(
                host=server.host,
                port=server.port,
                sender="surveys@example.com",
                tls="none",
                username="surveys",
                password=password,
            )
            await channel.start()
            if ok:
                assert (await channel.send(_question())).provider_message_id.endswith(
                    "@example.com>"
                )
                continue
            with pytest.raises(TransientSendError, match="SURVEYBOT_SMTP_PASSWORD"):
                await channel.send(_question())
        assert len(server.messages) == 1


async def test_an_unreachable_server_is_transient() -> None:
    with smtp_standin() as server:
        port = server.port
    channel = EmailChannel(host="127.0.0.1", port=port, sender="s@example.com", tls="none")
    with pytest.raises(TransientSendError, match="cannot reach"):
        await channel.send(_question())
