"""The JSON API under /api/v1: surveys, contacts, triggers, responses, scores."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from bot.contacts.schemas import ContactIn
from bot.errors import NotFound, Unprocessable
from bot.http.deps import ReadUowDep, UowDep, require_api_key
from bot.http.schemas import (
    ApiError,
    CancelledManyOut,
    CancelledOut,
    ContactOut,
    ReportOut,
    ResponseOut,
    ResponsesOut,
    SurveyOut,
    SurveysOut,
    TriggerIn,
    TriggerOut,
)
from bot.http.triggers import trigger_and_answer
from bot.invitations import cancelling
from bot.reports.scores import PeriodError, build_report, parse_bound
from bot.runtime.services import ServicesDep
from bot.wiring.telegram import TelegramLinkOut, telegram_link
from storage.models import Contact, InvitationStatus, SurveyRow
from storage.uow import UnitOfWork
from surveys.definitions import Survey

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ApiError, "description": "Missing or invalid API key"},
    404: {"model": ApiError, "description": "Unknown survey"},
}


def build_api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_api_key)], responses=ERRORS)

    @router.post("/surveys", response_model=SurveyOut, tags=["surveys"])
    async def put_survey(survey: Survey, uow: UowDep, response: Response) -> SurveyOut:
        """Create or update one survey (the YAML shape, as JSON)."""
        row, created = await uow.surveys.upsert(survey)
        await uow.commit()
        response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return _survey_out(row)

    @router.get("/surveys", response_model=SurveysOut, tags=["surveys"])
    async def list_surveys(uow: ReadUowDep) -> SurveysOut:
        rows = await uow.surveys.list()
        return SurveysOut(data=[_survey_out(r) for r in rows], count=len(rows))

    @router.post("/contacts", response_model=ContactOut, tags=["contacts"])
    async def upsert_contact(contact: ContactIn, uow: UowDep) -> ContactOut:
        """Create or update a contact by external_id; omitted fields keep their stored value."""
        row = await uow.contacts.upsert(contact.external_id, contact.fields(), contact.properties)
        await uow.commit()
        return _contact_out(row)

    @router.post(
        "/triggers",
        response_model=TriggerOut,
        status_code=status.HTTP_202_ACCEPTED,
        tags=["triggers"],
    )
    async def post_trigger(body: TriggerIn, services: ServicesDep) -> TriggerOut:
        """Schedule one survey for one contact; a replayed idempotency_key returns the same one."""
        return await trigger_and_answer(services, body)

    @router.delete(
        "/invitations/{invitation_id}", response_model=CancelledOut, tags=["invitations"]
    )
    async def cancel_invitation(invitation_id: str, services: ServicesDep) -> CancelledOut:
        """Cancel a pending invitation; 409 once it was sent, repeatable once cancelled."""
        cancelled = await cancelling.cancel(
            services.sessions, now=services.clock(), invitation_id=invitation_id
        )
        return CancelledOut(invitation_id=cancelled, status=InvitationStatus.CANCELLED)

    @router.delete("/invitations", response_model=CancelledOut, tags=["invitations"])
    async def cancel_by_key(
        services: ServicesDep,
        idempotency_key: Annotated[str, Query(min_length=1, max_length=255)],
    ) -> CancelledOut:
        """Cancel the pending invitation a trigger with this idempotency key created."""
        cancelled = await cancelling.cancel(
            services.sessions, now=services.clock(), idempotency_key=idempotency_key
        )
        return CancelledOut(invitation_id=cancelled, status=InvitationStatus.CANCELLED)

    @router.delete(
        "/contacts/{external_id}/invitations", response_model=CancelledManyOut, tags=["invitations"]
    )
    async def cancel_for_contact(external_id: str, services: ServicesDep) -> CancelledManyOut:
        """Cancel every pending invitation of a contact (sent ones are not touched)."""
        count = await cancelling.cancel_for_contact(
            services.sessions, external_id, now=services.clock()
        )
        return CancelledManyOut(cancelled=count)

    @router.get(
        "/contacts/{external_id}/telegram-link", response_model=TelegramLinkOut, tags=["contacts"]
    )
    async def get_telegram_link(external_id: str, services: ServicesDep) -> TelegramLinkOut:
        """A `https://t.me/<bot>?start=<payload>` link that connects this contact's chat."""
        return await telegram_link(services, external_id)

    @router.get("/responses", response_model=ResponsesOut, tags=["responses"])
    async def list_responses(
        uow: ReadUowDep,
        survey: Annotated[str, Query(description="survey key")],
        from_: Annotated[str | None, Query(alias="from")] = None,
        to: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> ResponsesOut:
        row = await _survey(uow, survey)
        since, until = _bounds(from_, to)
        rows = await uow.responses.list_for_survey(
            row.id or 0, since=since, until=until, limit=limit, offset=offset
        )
        data = [
            ResponseOut(
                invitation_id=r.invitation_id,
                survey=key,
                contact=external_id,
                channel=r.channel,
                score=r.score,
                reason=r.reason,
                comment=r.comment,
                answered_at=r.answered_at,
                properties=r.properties,
            )
            for r, key, external_id in rows
        ]
        total = await uow.responses.count_for_survey(row.id or 0, since=since, until=until)
        return ResponsesOut(data=data, count=total)

    @router.get(
        "/surveys/{key}/scores",
        response_model=ReportOut,
        response_model_exclude_unset=True,
        response_model_by_alias=True,
        tags=["scores"],
    )
    async def scores(
        key: str,
        uow: ReadUowDep,
        from_: Annotated[
            str | None, Query(alias="from", description="YYYY-MM-DD or ISO 8601")
        ] = None,
        to: Annotated[str | None, Query(description="YYYY-MM-DD (inclusive) or ISO 8601")] = None,
        group_by: Annotated[
            str | None, Query(description="channel, month, week or a property")
        ] = None,
    ) -> dict[str, Any]:
        """The report object: score, margin of error, interval, distribution, groups."""
        row = await _survey(uow, key)
        since, until = _bounds(from_, to)
        try:
            return await build_report(uow, row, since=since, until=until, group_by=group_by)
        except ValueError as exc:
            raise Unprocessable(str(exc), field="group_by") from exc

    return router


async def _survey(uow: UnitOfWork, key: str) -> SurveyRow:
    row = await uow.surveys.get_by_key(key)
    if row is None:
        raise NotFound(f"survey {key!r} does not exist", field="survey")
    return row


def _bounds(from_: str | None, to: str | None) -> tuple[Any, Any]:
    try:
        return parse_bound(from_, end=False, name="from"), parse_bound(to, end=True, name="to")
    except PeriodError as exc:
        raise Unprocessable(str(exc), field=str(exc).split(":")[0]) from exc


def _survey_out(row: SurveyRow) -> SurveyOut:
    return SurveyOut(
        key=row.key,
        metric=row.metric,
        definition=row.definition,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _contact_out(row: Contact) -> ContactOut:
    return ContactOut.model_validate(row, from_attributes=True)
