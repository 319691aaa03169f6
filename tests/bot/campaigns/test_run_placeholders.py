"""Campaign runs skip, with a reason, the contacts whose properties cannot fill the survey's texts."""

from __future__ import annotations

from sqlalchemy import select

from bot.runtime.services import Services
from storage.models import Contact, Invitation
from storage.uow import UnitOfWork
from surveys.placeholders import MISSING_PLACEHOLDER
from tests.bot.campaigns.campaign_env import add_contacts, manager, nps, spec


async def test_a_contact_missing_a_placeholder_is_skipped_and_counted(services: Services) -> None:
    await nps(services, question="{first_name}, how likely are you to recommend {product}?",
              placeholders={"product": "us"})  # fmt: skip
    await add_contacts(
        services,
        {"id": "a", "email": "a@example.test", "properties": {"first_name": "Aino"}},
        {"id": "b", "email": "b@example.test", "properties": {"plan": "pro"}},
        {"id": "c", "email": "c@example.test", "name": "Cy", "properties": {"first_name": None}},
    )
    campaigns = manager(services)
    await campaigns.create(spec())
    started = await campaigns.run_now("quarterly")
    run = await campaigns.execute_run(started.id or 0)
    assert run is not None
    assert (run.audience, run.invited, run.skipped) == (3, 1, 2)
    async with UnitOfWork(services.sessions) as uow:
        rows = await uow.session.execute(
            select(Contact.external_id, Invitation.status, Invitation.skip_reason).join(
                Contact, Contact.id == Invitation.contact_id
            )
        )
        found = {external_id: (status, reason) for external_id, status, reason in rows.all()}
    assert found == {
        "a": ("scheduled", None),
        "b": ("skipped", MISSING_PLACEHOLDER),
        "c": ("skipped", MISSING_PLACEHOLDER),
    }
