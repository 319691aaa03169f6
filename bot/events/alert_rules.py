"""Alert rules as operators manage them: checked, added, listed and removed (API and CLI)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email

from bot.errors import NotFound, Unprocessable
from bot.events.matching import PROPERTY_PREFIX, check_filters
from storage.alerting import AlertRule
from storage.repositories.alerting import AlertRepository
from storage.repositories.surveys import to_domain
from storage.uow import UnitOfWork

MAX_RULES_PER_SURVEY = 50
MAX_ADDRESSES = 20
MAX_ID = 2**31 - 1  # what the id column holds: a larger one names no rule
# What a rule may filter on besides its survey and its threshold.
RULE_FILTERS = ("channel", "property.NAME")


@dataclass(frozen=True, slots=True)
class NewAlertRule:
    """A rule as a caller asks for it (the HTTP body and the CLI options alike)."""

    survey: str
    score_max: int
    filters: Mapping[str, Any] = field(default_factory=dict)
    emails: Sequence[str] = ()
    webhook_id: str | None = None


def check_addresses(addresses: Sequence[str], *, field: str) -> list[str]:
    """The addresses, normalised and without repeats; Unprocessable naming `field` for one
    that is not an email address."""
    if len(addresses) > MAX_ADDRESSES:
        raise Unprocessable(f"at most {MAX_ADDRESSES} addresses", field=field)
    checked: list[str] = []
    for address in addresses:
        try:
            valid = validate_email(address.strip(), check_deliverability=False)
        except EmailNotValidError as exc:
            raise Unprocessable(f"{address!r} is not an email address: {exc}", field=field) from exc
        checked.append(valid.normalized)
    return list(dict.fromkeys(checked))


def check_rule_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """A rule's segment filter: `channel` and `property.NAME` values (text)."""
    for name in filters:
        if name != "channel" and not name.startswith(PROPERTY_PREFIX):
            raise Unprocessable(
                f"unknown filter {name!r}: an alert rule filters by channel or property.NAME"
                " (its survey and threshold are fields of their own)",
                field=f"filters.{name}",
            )
    return check_filters(filters)


async def add(
    uow: UnitOfWork, request: NewAlertRule, now: datetime, *, mail_on: bool
) -> tuple[AlertRule, str]:
    """A new rule and its survey's key; Unprocessable naming the field that is wrong.

    `mail_on` says whether SMTP is configured: a rule that mails needs it.
    """
    row = await uow.surveys.get_by_key(request.survey)
    if row is None or row.id is None:
        raise Unprocessable(f"survey {request.survey!r} does not exist", field="survey")
    survey = to_domain(row)
    low, high = survey.scale_range
    score_max = request.score_max
    if (
        isinstance(score_max, bool)
        or not isinstance(score_max, int)
        or not low <= score_max <= high
    ):
        raise Unprocessable(
            f"score_max must be a whole number on the survey's scale {low}-{high}",
            field="score_max",
        )
    filters = check_rule_filters(request.filters)
    emails = check_addresses(list(request.emails), field="emails")
    if emails and not mail_on:
        raise Unprocessable(
            "email alerts need the SMTP settings (SURVEYBOT_SMTP_HOST and SURVEYBOT_SMTP_FROM);"
            " set them, or alert a webhook subscription instead",
            field="emails",
        )
    webhook_id = (request.webhook_id or "").strip() or None
    if webhook_id is not None and await uow.webhooks.get(webhook_id) is None:
        raise Unprocessable(
            f"webhook {webhook_id!r} does not exist: give the id of a subscription"
            " (surveybot webhooks list)",
            field="webhook_id",
        )
    if not emails and webhook_id is None:
        raise Unprocessable(
            "say where to send the alert: one or more emails, a webhook_id, or both",
            field="emails",
        )
    rules = AlertRepository(uow.session)
    if await rules.count(row.id) >= MAX_RULES_PER_SURVEY:
        raise Unprocessable(
            f"a survey has at most {MAX_RULES_PER_SURVEY} alert rules", field="survey"
        )
    rule = AlertRule(
        survey_id=row.id,
        score_max=score_max,
        filters=filters,
        emails=emails,
        webhook_id=webhook_id,
        created_at=now,
    )
    return await rules.add(rule), row.key


def rule_dict(rule: AlertRule, survey_key: str) -> dict[str, Any]:
    """A rule as the API and the CLI show it."""
    return {
        "id": rule.id,
        "survey": survey_key,
        "score_max": rule.score_max,
        "filters": rule.filters,
        "emails": rule.emails,
        "webhook_id": rule.webhook_id,
        "created_at": rule.created_at,
    }


async def listed(uow: UnitOfWork, survey: str | None = None) -> list[dict[str, Any]]:
    """Every rule (of one survey, when named), oldest first."""
    survey_id = None
    if survey is not None:
        row = await uow.surveys.get_by_key(survey)
        if row is None:
            raise NotFound(f"survey {survey!r} does not exist", field="survey")
        survey_id = row.id
    rules = await AlertRepository(uow.session).all(survey_id)
    return [rule_dict(rule, key) for rule, key in rules]


async def remove(uow: UnitOfWork, rule_id: int, now: datetime) -> int:
    """Remove a rule; its alerts not sent yet are dropped (how many)."""
    rules = AlertRepository(uow.session)
    if not 1 <= rule_id <= MAX_ID or await rules.get(rule_id) is None:
        raise NotFound(f"alert rule {rule_id} does not exist", field="rule_id")
    return await rules.remove(rule_id, now)
