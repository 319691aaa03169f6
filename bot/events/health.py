"""Health alerts: a survey gone silent, a channel failing, a webhook switched off, told to the
operator (SURVEYBOT_OPERATOR_EMAIL) or, without one, to the log.

One process per database checks at a time (the "health" lease), every five minutes and when a
webhook is switched off. Each condition is told once a day at most (once per switch-off for a
webhook): the notice is recorded before it is told, and forgotten again if the mail fails, so
the next check tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.events import mail_layout as layout
from bot.events.mail import Mail, Mailer, MailError
from bot.ticking import Ticker, hold
from storage.alerting import HealthNotice
from storage.outbound import WebhookStatus
from storage.repositories.alerting import HealthRepository
from storage.uow import UnitOfWork

log = logging.getLogger("bot.events")

LEASE_NAME = "health"
CHECK_EVERY = 300.0  # seconds
# A survey "normally sends" when it sent on this many of the previous days, this many a day.
BASELINE_DAYS = 7
MIN_ACTIVE_DAYS = 3
MIN_DAILY_SENDS = 3.0
# A channel's failure share in the last hour "jumps" when, over at least MIN_SENDS sends, it is
# above MIN_SHARE and above JUMP times its share over the week before.
FAILURE_WINDOW = timedelta(hours=1)
MIN_SENDS = 20
MIN_SHARE = 0.2
JUMP = 3.0


@dataclass(frozen=True, slots=True)
class Finding:
    """A condition worth telling: its kind, what it is about, the period it is told once in."""

    kind: str
    subject: str
    period: str
    title: str
    text: str


def silent_surveys(
    daily: Sequence[Mapping[int, int]],
    recent: Mapping[int, int],
    keys: Mapping[int, str],
    *,
    hours: float,
    day: str,
) -> list[Finding]:
    """Surveys that sent on enough of the `daily` windows, enough a day, and nothing in the
    last `hours` (`recent`). Pure: the counts come in."""
    found = []
    for survey_id, key in keys.items():
        per_day = [counts.get(survey_id, 0) for counts in daily]
        active, total = sum(1 for n in per_day if n), sum(per_day)
        average = total / len(daily) if daily else 0.0
        if recent.get(survey_id, 0) or active < MIN_ACTIVE_DAYS or average < MIN_DAILY_SENDS:
            continue
        title = f"survey {key} has sent nothing for {hours:g} hours"
        text = (
            f"Survey {key} has sent no invitation for {hours:g} hours, though it sent {total} on"
            f" {active} of the {len(daily)} days before (about {average:.0f} a day). Check what"
            " triggers it (the help desk's webhook, a campaign, an import) and the channels'"
            " credentials."
        )
        found.append(Finding("silent_survey", key, day, title, text))
    return found


def failing_channels(
    hour: Mapping[str, tuple[int, int]], week: Mapping[str, tuple[int, int]], *, day: str
) -> list[Finding]:
    """Channels whose failure share in the last hour jumped (see MIN_SENDS, MIN_SHARE, JUMP).
    Each count is (sends, failures). Pure."""
    found = []
    for channel, (sends, failures) in sorted(hour.items()):
        if sends < MIN_SENDS:
            continue
        share = failures / sends
        before_sends, before_failures = week.get(channel, (0, 0))
        usual = before_failures / before_sends if before_sends else 0.0
        if share <= MIN_SHARE or share <= JUMP * usual:
            continue
        title = f"channel {channel} is failing: {share:.0%} of sends in the last hour"
        text = (
            f"{failures} of {sends} sends on {channel} failed in the last hour ({share:.0%});"
            f" over the week before, {usual:.1%} did. Check the provider's status and"
            " surveybot's credentials for it; the log, and each failed invitation's"
            " last_error (surveybot invitations show ID), say why."
        )
        found.append(Finding("failing_channel", channel, day, title, text))
    return found


def disabled_webhook(hook: Any) -> Finding:
    # The host only: a webhook's full URL can be a secret (Slack's are).
    host = urlsplit(hook.url).hostname or "its endpoint"
    since = hook.failing_since.isoformat() if hook.failing_since else "unknown"
    return Finding(
        "webhook_disabled",
        hook.id,
        f"since {since}",
        f"webhook {hook.id} ({host}) was switched off",
        f"Webhook subscription {hook.id} to {host} was switched off after failing for a day"
        f" ({hook.disabled_reason or 'no reason recorded'}). Events are not queued for it"
        f" meanwhile. Once the endpoint works: surveybot webhooks list, then"
        f" POST /api/v1/webhooks/{hook.id}/enable.",
    )


def health_mail(to: str, finding: Finding, *, sender_name: str) -> Mail:
    title = f"surveybot health: {finding.title}"
    footer = (
        f"{sender_name} health checks run every few minutes; each condition is told once a day"
        " at most."
    )
    text = f"{title}\n\n{finding.text}\n\n-- \n{footer}\n"
    html = layout.document(
        title, [layout.heading(finding.title, size=18), layout.paragraph(finding.text)],
        footer=footer,
    )  # fmt: skip
    return Mail(to=to, subject=title, text=text, html=html)


@dataclass
class HealthJob:
    """Checks the service's health in the background while it holds the lease."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    holder: str
    mailer: Mailer | None = None
    operator: str | None = None
    silent_hours: float = 24.0
    interval: float = CHECK_EVERY
    sender_name: str = "surveybot"

    def __post_init__(self) -> None:
        self._ticker = Ticker("health check", self.interval, log)

    def wake(self) -> None:
        """Check now rather than at the next tick."""
        self._ticker.wake()

    def webhook_disabled(self, hook: Any, reason: str) -> None:
        """The webhook sender's `on_disabled`: tell it without waiting for the next tick."""
        self.wake()

    async def run(self) -> None:
        await self._ticker.run(self._leased_check)

    async def _leased_check(self) -> None:
        # Held across two ticks, so a holder that is only slow does not lose it.
        seconds = 2 * self.interval + 60
        if await hold(self.sessions, LEASE_NAME, self.holder, now=self.clock(), seconds=seconds):
            await self.check()

    async def check(self) -> list[Finding]:
        """One pass over every condition; the findings told now (not told before)."""
        findings = await self.findings()
        told = [finding for finding in findings if await self._tell(finding)]
        return told

    async def findings(self) -> list[Finding]:
        now = self.clock()
        day = now.date().isoformat()
        quiet_since = now - timedelta(hours=self.silent_hours)
        async with UnitOfWork(self.sessions) as uow:
            health = HealthRepository(uow.session)
            keys = {
                row.id or 0: row.key for row in await uow.surveys.list() if row.archived_at is None
            }
            recent = await health.sends_by_survey(quiet_since, now)
            daily = [
                await health.sends_by_survey(
                    quiet_since - timedelta(days=i + 1), quiet_since - timedelta(days=i)
                )
                for i in range(BASELINE_DAYS)
            ]
            hour = await health.outcomes_by_channel(now - FAILURE_WINDOW, now)
            week = await health.outcomes_by_channel(
                now - timedelta(days=7) - FAILURE_WINDOW, now - FAILURE_WINDOW
            )
            hooks = [h for h in await uow.webhooks.all() if h.status == WebhookStatus.DISABLED]
        return [
            *silent_surveys(daily, recent, keys, hours=self.silent_hours, day=day),
            *failing_channels(hour, week, day=day),
            *(disabled_webhook(hook) for hook in hooks),
        ]

    async def _tell(self, finding: Finding) -> bool:
        notice = HealthNotice(
            kind=finding.kind,
            subject=finding.subject[:64],
            period=finding.period[:40],
            message=finding.text[:1000],
            created_at=self.clock(),
        )
        async with UnitOfWork(self.sessions) as uow:
            fresh = await HealthRepository(uow.session).note(notice)
            await uow.commit()
        if not fresh:
            return False
        log.warning("health: %s", finding.text)
        if self.mailer is None or not self.operator:
            return True
        try:
            await self.mailer.send(
                health_mail(self.operator, finding, sender_name=self.sender_name)
            )
        except MailError as exc:
            log.warning("health: could not mail the operator (%s); trying again later", exc)
            async with UnitOfWork(self.sessions) as uow:
                await HealthRepository(uow.session).forget(
                    notice.kind, notice.subject, notice.period
                )
                await uow.commit()
            return False
        return True
