"""What the campaign tests share: a manager on every channel, specs, contacts, the NPS survey."""

from __future__ import annotations

from typing import Any

from bot.campaigns.management import Campaigns
from bot.runtime.services import Services
from bot.wiring import registry
from storage.uow import UnitOfWork
from surveys.campaigns import CampaignSpec
from tests.support import add_survey

ALL_CHANNELS = registry.infos()


def manager(services: Services, **options: Any) -> Campaigns:
    options.setdefault("channels", ALL_CHANNELS)
    options.setdefault("suppression", services.suppression)
    return Campaigns(sessions=services.sessions, clock=services.clock, **options)


def spec(**fields: Any) -> CampaignSpec:
    fields.setdefault("name", "quarterly")
    fields.setdefault("survey", "relationship-nps")
    if "every_months" not in fields and "relative_to" not in fields:
        fields.setdefault("cron", "0 9 1 */3 *")
    return CampaignSpec.model_validate(fields)


async def add_contacts(services: Services, *contacts: dict[str, Any]) -> None:
    async with UnitOfWork(services.sessions) as uow:
        for contact in contacts:
            fields = dict(contact)
            external_id = fields.pop("id")
            properties = fields.pop("properties", {})
            await uow.contacts.upsert(external_id, fields, properties)
        await uow.commit()


async def nps(services: Services, **fields: Any) -> None:
    await add_survey(services, key="relationship-nps", metric="nps", **fields)
