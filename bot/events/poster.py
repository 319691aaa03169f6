"""HTTP POSTs for the deliverer: one aiohttp session, opened at first use, closed with the owner.

Webhook deliveries run at hundreds a second beside the answers on the same cores; aiohttp (already
installed with aiogram) spends about a tenth of the CPU per request that httpx does here, which is
what keeps a subscription from slowing the answers down (benchmarks/webhooks.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

import aiohttp

# Connect, then at most this long between bytes of the answer, and overall.
TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5, sock_read=10)
# Only the status and headers matter; a longer answer is cut (and its connection closed).
READ_AT_MOST = 64 * 1024


@dataclass(frozen=True, slots=True)
class Reply:
    """An endpoint's answer: its status and the headers the retry policy reads."""

    status: int
    retry_after: str | None


class PostFailed(Exception):
    """No answer: timed out or could not connect (the message says which, in a few words)."""


class Poster:
    """POSTs bodies to endpoints, following no redirect, with one connection pool."""

    def __init__(self, timeout: aiohttp.ClientTimeout = TIMEOUT) -> None:
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        if self._session is None or self._session.closed:
            # Created in the running loop, as aiohttp requires; no proxy from the environment.
            self._session = aiohttp.ClientSession(timeout=self._timeout, trust_env=False)
        try:
            async with self._session.post(
                url, data=body, headers=dict(headers), allow_redirects=False
            ) as answer:
                await answer.content.read(READ_AT_MOST)
                return Reply(status=answer.status, retry_after=answer.headers.get("Retry-After"))
        except TimeoutError as exc:
            raise PostFailed("timed out") from exc
        except (aiohttp.ClientError, ValueError, OSError) as exc:
            raise PostFailed(f"could not connect: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> Poster:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
