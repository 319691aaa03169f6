"""Alerts: a new low score planned as one delivery per matching rule, then mailed and posted.

The router gives each `response.created` that a rule matches one delivery to `alert:<rule id>`,
due a grace after the answer (45 s), so that a comment given right after the score is in the
alert; the delivery is unique per (target, event), so a response alerts each rule once, and a
later comment or reason (a `response.updated`) never alerts again. The sender mails each address
and posts the signed `alert.triggered` body to the rule's webhook subscription; a part that went
out is taken off the stored body, so a retry sends only what is left.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.events import policy
from bot.events.alert_mail import alert_body, alert_mail, links_for
from bot.events.delivering import Attempt, Due, Outcome
from bot.events.mail import Mail, Mailer, MailError
from bot.events.matching import wants
from bot.events.payloads import Subject, encode
from bot.events.poster import Poster, PostFailed
from bot.events.posting import signed_headers
from bot.events.routing import Planned
from storage.alerting import AlertRule
from storage.outbound import Delivery, WebhookStatus
from storage.repositories.alerting import AlertRepository, alert_target
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork

log = logging.getLogger("bot.events")

PREFIX = "alert"
# Long enough for the comment that usually follows a score, short enough to alert in a minute.
GRACE = timedelta(seconds=45)
# What an attempt answers (the deliverer's statuses are HTTP's): done, or refused for good.
DONE = 200
REFUSED = 400


class AlertRules:
    """The alert rules as a consumer of the router: each rule a new score matches."""

    def __init__(self, grace: timedelta = GRACE) -> None:
        self._grace = grace
        self._rules: list[AlertRule] = []

    async def prepare(self, uow: UnitOfWork) -> None:
        self._rules = [rule for rule, _ in await AlertRepository(uow.session).all()]

    def plan(self, subject: Subject, now: datetime) -> list[Planned]:
        event, response, survey = subject.event, subject.response, subject.survey
        if event.type != "response.created" or response is None or survey is None:
            return []
        if subject.invitation is not None and subject.invitation.test:
            return []  # a `surveybot try` conversation alerts nobody
        due = event.occurred_at + self._grace
        return [
            Planned(target=alert_target(rule.id or 0), due_at=due)
            for rule in self._rules
            if rule.survey_id == survey.id
            and response.score <= rule.score_max
            and wants([event.type], rule.filters, subject)
        ]


class AlertSender:
    """Sends `alert:<rule id>` deliveries: a mail per address, a signed POST to the webhook."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        poster: Poster,
        clock: Callable[[], datetime],
        mailer: Mailer | None,
        base_url: str,
        sender_name: str = "surveybot",
    ) -> None:
        self._sessions = sessions
        self._poster = poster
        self._clock = clock
        self._mailer = mailer
        self._base_url = base_url
        self._sender_name = sender_name

    async def body(self, uow: UnitOfWork, delivery: Delivery, subject: Subject) -> str | None:
        rule_id = delivery.target.removeprefix(f"{PREFIX}:")
        rule = await AlertRepository(uow.session).get(int(rule_id)) if rule_id.isdigit() else None
        if rule is None or subject.response is None or subject.survey is None:
            return None
        band = to_domain(subject.survey).band(subject.response.score)
        links = links_for(subject, self._base_url)
        alert_id = f"alr_{delivery.id}"
        payload: dict[str, Any] = {"alert_id": alert_id, "to": [], "mail": None, "webhook": None}
        if rule.emails and self._mailer is None:
            log.warning("alert rule %s: email is not configured; its mail is not sent", rule.id)
        elif rule.emails:
            mail = alert_mail("", rule, subject, band, links, sender_name=self._sender_name)
            payload["to"] = list(rule.emails)
            payload["mail"] = {"subject": mail.subject, "text": mail.text, "html": mail.html}
        hook = await uow.webhooks.get(rule.webhook_id) if rule.webhook_id else None
        if hook is not None and hook.status == WebhookStatus.ACTIVE:
            body = alert_body(
                alert_id,
                rule,
                subject,
                band,
                links,
                now=self._clock(),
                slack=hook.format == "slack",
            )
            payload["webhook"] = {"id": hook.id, "body": encode(body)}
        elif rule.webhook_id:
            log.warning("alert rule %s: webhook %s is off or removed", rule.id, rule.webhook_id)
        if not payload["to"] and payload["webhook"] is None:
            return None
        return json.dumps(payload, ensure_ascii=False)

    async def send(self, due: Due) -> Attempt:
        delivery = due.delivery
        data: dict[str, Any] = json.loads(due.payload)
        sent = 0
        final: list[str] = []  # refused for good: not tried again
        later: list[str] = []  # worth another try
        retry_after: float | None = None
        status: int | None = None
        left_to: list[str] = []
        for address in data.get("to") or []:
            outcome = await self._mail(address, data["mail"])
            if outcome is None:
                sent += 1
            elif outcome.permanent:
                final.append(outcome.message)
            else:
                later.append(outcome.message)
                left_to.append(address)
        webhook = data.get("webhook")
        if webhook:
            answer = await self._post(data["alert_id"], webhook)
            if answer.status is not None and 200 <= answer.status < 300:
                sent, webhook = sent + 1, None
            elif answer.drop or not policy.retryable(answer.status):
                final.append(answer.error or f"HTTP {answer.status}")
                webhook = None
            else:
                later.append(answer.error or f"HTTP {answer.status}")
                retry_after, status = answer.retry_after, answer.status
        for reason in final:
            log.warning("alert delivery %s: %s (not retried)", delivery.id, reason)
        if later:
            # What went out is remembered, so that a part refused later still ends "delivered".
            left = {**data, "to": left_to, "webhook": webhook, "sent": data.get("sent", 0) + sent}
            if left != data:
                await self._narrow(delivery, left)
            return Attempt(status=status, error="; ".join(later), retry_after=retry_after)
        if sent or data.get("sent"):
            return Attempt(status=DONE)
        return Attempt(status=REFUSED, error="; ".join(final) or "nothing to send")

    async def settled(self, uow: UnitOfWork, outcomes: Sequence[Outcome], now: datetime) -> None:
        return None  # a webhook's health is kept by its own deliveries, not by alerts

    async def _mail(self, address: str, mail: dict[str, str]) -> MailError | None:
        if self._mailer is None:
            return MailError("email is not configured (SURVEYBOT_SMTP_HOST)", permanent=True)
        try:
            await self._mailer.send(Mail(to=address, **mail))
        except MailError as exc:
            return exc
        return None

    async def _post(self, alert_id: str, webhook: dict[str, str]) -> Attempt:
        # Read at each attempt: a subscription switched off or removed stops at once.
        async with UnitOfWork(self._sessions) as uow:
            hook = await uow.webhooks.get(webhook["id"])
        if hook is None or hook.status != WebhookStatus.ACTIVE:
            return Attempt(status=None, error=f"webhook {webhook['id']} is off", drop=True)
        body = webhook["body"].encode()
        headers = signed_headers(hook.secret, alert_id, int(self._clock().timestamp()), body)
        try:
            answer = await self._poster.post(hook.url, body, headers)
        except PostFailed as exc:
            return Attempt(status=None, error=f"webhook {exc}")
        retry_after = policy.retry_after_seconds(answer.retry_after, self._clock())
        error = None if 200 <= answer.status < 300 else f"webhook answered HTTP {answer.status}"
        return Attempt(status=answer.status, error=error, retry_after=retry_after)

    async def _narrow(self, delivery: Delivery, left: dict[str, Any]) -> None:
        async with UnitOfWork(self._sessions) as uow:
            narrowed = await AlertRepository(uow.session).narrow(
                delivery.id or 0, delivery.lease_until or self._clock(), json.dumps(left)
            )
            await uow.commit()
        if not narrowed:
            log.warning("alert delivery %s: lease lost; its parts may be sent again", delivery.id)
