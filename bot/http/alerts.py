"""/api/v1/alerts: alert rules, a low score told to people or a webhook within a minute."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, Field

from bot.events import alert_rules
from bot.http.deps import UowDep
from bot.http.errors import refuse_unstorable
from bot.http.schemas import API_ADMIN, API_ERRORS, ApiError
from bot.runtime.services import ServicesDep
from bot.startup.alerting import mail_on

# Rules name people's addresses and webhook subscriptions: every route needs admin.
router = APIRouter(prefix="/api/v1", dependencies=API_ADMIN, responses=API_ERRORS, tags=["alerts"])
# An id the database's integer column can hold (a larger one would fail in the query).
RuleId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class AlertIn(BaseModel):
    survey: str = Field(max_length=64, description="the survey's key")
    score_max: int = Field(
        description="alert on scores at or below this (on the survey's scale), e.g. 6 for NPS"
    )
    filters: dict[str, str] = Field(
        default_factory=dict,
        max_length=20,
        description='segment, all must match: {"channel": "sms", "property.plan": "pro"}',
    )
    emails: list[str] = Field(default_factory=list, max_length=20, description="who is mailed")
    webhook_id: str | None = Field(
        default=None,
        max_length=40,
        description="a webhook subscription (wh_…) that receives a signed alert.triggered POST",
    )


class AlertOut(BaseModel):
    id: int
    survey: str
    score_max: int
    filters: dict[str, Any]
    emails: list[str]
    webhook_id: str | None
    created_at: datetime


class AlertsOut(BaseModel):
    data: list[AlertOut]
    count: int


class AlertRemovedOut(BaseModel):
    id: int
    alerts_dropped: int = Field(description="alerts of the rule not sent yet, now dropped")


@router.post(
    "/alerts",
    response_model=AlertOut,
    status_code=status.HTTP_201_CREATED,
    responses={422: {"model": ApiError, "description": "A field is wrong (named in `field`)"}},
)
async def add_alert(body: AlertIn, uow: UowDep, services: ServicesDep) -> dict[str, Any]:
    """Alert on a survey's low scores: each response at or below `score_max` (and matching
    `filters`) is mailed to `emails` and/or posted to `webhook_id`, once, about 45 seconds
    after the score (so that a comment given right after it is in the alert)."""
    refuse_unstorable(body.model_dump(mode="json"))
    request = alert_rules.NewAlertRule(
        survey=body.survey, score_max=body.score_max, filters=body.filters, emails=body.emails,
        webhook_id=body.webhook_id,
    )  # fmt: skip
    rule, key = await alert_rules.add(
        uow, request, services.clock(), mail_on=mail_on(services.settings)
    )
    await uow.commit()
    return alert_rules.rule_dict(rule, key)


@router.get("/alerts", response_model=AlertsOut)
async def list_alerts(
    uow: UowDep, survey: Annotated[str | None, Query(max_length=64)] = None
) -> AlertsOut:
    """Every alert rule (of one survey, with `survey`), oldest first."""
    rules = await alert_rules.listed(uow, survey)
    return AlertsOut(data=[AlertOut(**rule) for rule in rules], count=len(rules))


@router.delete("/alerts/{rule_id}", response_model=AlertRemovedOut)
async def remove_alert(rule_id: RuleId, uow: UowDep, services: ServicesDep) -> AlertRemovedOut:
    """Remove a rule; its alerts not sent yet are dropped."""
    dropped = await alert_rules.remove(uow, rule_id, services.clock())
    await uow.commit()
    return AlertRemovedOut(id=rule_id, alerts_dropped=dropped)
