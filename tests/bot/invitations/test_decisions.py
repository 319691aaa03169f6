"""The one decision path: channel choice, eligibility, quiet hours and the time-zone guard.

The first tests need no database; the last runs a trigger and a campaign run over the same
contacts, on both backends, and finds the same decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from bot.campaigns.management import Campaigns
from bot.invitations import decisions
from bot.invitations.decisions import NO_ADDRESS, NOT_ON, Unreachable
from bot.wiring import registry
from channels.base import ChannelInfo
from channels.web import WebChannel
from storage.models import Contact, Invitation
from storage.uow import UnitOfWork
from surveys.campaigns import CampaignSpec
from surveys.definitions import Survey
from tests.conftest import FakeClock, services_with
from tests.support import add_survey, fire

CHANNELS = registry.infos()  # telegram, sms, whatsapp, email, web: best first
BY_NAME = {info.name: info for info in CHANNELS}
NOON = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # a Monday


@dataclass
class Person:
    telegram_chat_id: str | None = None
    phone: str | None = None
    email: str | None = None


def chosen(person: Person, **kwargs: Any) -> str | Unreachable:
    found = decisions.choose_channel(person, CHANNELS, **kwargs)
    return found if isinstance(found, Unreachable) else found.name


def test_the_best_reachable_channel_comes_first() -> None:
    assert chosen(Person("42", "+14155550101", "a@example.test")) == "telegram"
    assert chosen(Person(None, "+14155550101", "a@example.test")) == "sms"
    assert chosen(Person(None, None, "a@example.test")) == "email"
    assert chosen(Person()) == "web"  # the link reaches anyone it is handed to


def test_opted_out_channels_are_passed_over() -> None:
    person = Person("42", "+14155550101", "a@example.test")
    assert chosen(person, opted_out={"telegram"}) == "sms"
    # A phone that opted out of SMS is asked on WhatsApp, the next channel it reaches.
    assert chosen(person, opted_out={"telegram", "sms"}) == "whatsapp"
    assert chosen(person, opted_out={"telegram", "sms", "whatsapp", "email"}) == "web"


def test_when_every_reachable_channel_is_opted_out_the_best_is_kept_to_record_it() -> None:
    only_addresses = [info for info in CHANNELS if info.reaches_by_itself]  # as campaigns ask
    person = Person(None, "+14155550101", "a@example.test")
    found = decisions.choose_channel(person, only_addresses, opted_out={"sms", "whatsapp", "email"})
    assert isinstance(found, ChannelInfo) and found.name == "sms"


def test_a_requested_channel_must_be_on_and_reach_the_contact() -> None:
    person = Person(None, "+14155550101")
    assert chosen(person, requested="sms") == "sms"
    assert chosen(person, requested="sms", opted_out={"sms"}) == "sms"  # eligibility says no
    assert chosen(person, requested="pigeon") == Unreachable(NOT_ON)
    assert chosen(person, requested="email") == Unreachable(NO_ADDRESS, BY_NAME["email"])
    assert decisions.choose_channel(person, [BY_NAME["web"]], requested="sms") == Unreachable(
        NOT_ON
    )


def test_nobody_is_reached_without_a_channel_for_them() -> None:
    assert decisions.choose_channel(Person(), [BY_NAME["sms"]]) == Unreachable(NO_ADDRESS)


def test_the_zone_is_the_contacts_own_else_the_surveys() -> None:
    assert decisions.zone_of("Asia/Tokyo", "UTC") == ZoneInfo("Asia/Tokyo")
    assert decisions.zone_of(None, "Europe/Helsinki") == ZoneInfo("Europe/Helsinki")
    assert decisions.zone_of("Mars/Base", "Europe/Helsinki") == ZoneInfo("Europe/Helsinki")
    assert decisions.zone_of("", "UTC") == ZoneInfo("UTC")


def plan(survey: Survey, channel: str, **kwargs: Any) -> decisions.Plan:
    values: dict[str, Any] = {
        "wanted_at": NOON,
        "zone": ZoneInfo("UTC"),
        "opted_out": False,
        "surveyed": False,
        "sample_key": "k",
    }
    return decisions.plan(survey, BY_NAME[channel], **{**values, **kwargs})


CSAT = Survey.model_validate({"key": "s", "metric": "csat"})


def test_eligibility_keeps_the_lasting_reason() -> None:
    assert plan(CSAT, "email").eligible
    assert plan(CSAT, "email", opted_out=True, surveyed=True).reason == "opted_out"
    assert plan(CSAT, "email", surveyed=True).reason == "throttled"
    never = Survey.model_validate({"key": "s", "metric": "csat", "sample_rate": 0})
    skipped = plan(never, "email")
    assert (skipped.status, skipped.reason) == ("skipped", "sampled_out")


def test_the_send_time_waits_out_the_channels_quiet_hours_in_the_contacts_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")  # noon UTC is 21:00 in Tokyo: after the 09-20 window
    assert plan(CSAT, "sms", zone=tokyo).send_at == datetime(2026, 11, 3, 0, 0, tzinfo=UTC)
    assert plan(CSAT, "email", zone=tokyo).send_at == NOON  # email has no quiet hours
    none = Survey.model_validate({"key": "s", "metric": "csat", "quiet_hours": {}})
    assert plan(none, "sms", zone=tokyo).send_at == NOON


# Both entry points on the same contacts.

CONTACTS: dict[str, dict[str, Any]] = {
    "all-three": {"telegram_chat_id": "42", "phone": "+14155550101", "email": "a@example.test"},
    "sms-opted-out": {"phone": "+14155550102", "email": "b@example.test"},
    "only-opted-out": {"phone": "+14155550103"},
    "tokyo-night": {"phone": "+14155550104", "timezone": "Asia/Tokyo"},
    "unknown-zone": {"phone": "+14155550105", "timezone": "Mars/Base"},
    "surveyed-lately": {"email": "f@example.test"},
}
OPTED_OUT = {"sms-opted-out": "sms", "only-opted-out": "sms"}


async def _seed(services: Any) -> str:
    """The contacts (one with a zone no API would accept), their opt-outs, a recent survey."""
    async with UnitOfWork(services.sessions) as uow:
        ids = {}
        for external_id, fields in CONTACTS.items():
            contact = Contact(external_id=external_id, **fields)
            uow.session.add(contact)
            await uow.session.flush()
            ids[external_id] = contact.id or 0
        for external_id, channel in OPTED_OUT.items():
            await uow.opt_outs.add(ids[external_id], channel, source="test")
        await uow.commit()
    earlier = await fire(services, "relationship-nps", contact={"external_id": "surveyed-lately"})
    return earlier.invitation.id


async def _decisions(services: Any, where: Any) -> dict[str, tuple[Any, ...]]:
    async with UnitOfWork(services.sessions) as uow:
        rows = await uow.session.execute(
            select(Invitation, Contact.external_id)
            .join(Contact, Contact.id == Invitation.contact_id)
            .where(where)
        )
        return {
            external_id: (inv.channel, inv.status, inv.skip_reason, inv.send_at)
            for inv, external_id in rows.all()
        }


async def test_a_trigger_and_a_campaign_run_decide_alike(database_url: str) -> None:
    clock = FakeClock(NOON)
    fakes = {name: WebChannel() for name in ("telegram", "sms", "email")}
    services = await services_with(database_url, clock, channels=fakes)
    try:
        await add_survey(services, key="relationship-nps", metric="nps")
        earlier = await _seed(services)
        campaigns = Campaigns(
            sessions=services.sessions,
            clock=clock,
            channels=services.catalog,
            suppression=services.suppression,
        )
        spec = {"name": "everyone", "survey": "relationship-nps", "cron": "0 9 1 * *"}
        await campaigns.create(CampaignSpec.model_validate(spec))
        started = await campaigns.run_now("everyone")
        await campaigns.execute_run(started.id or 0)
        by_campaign = await _decisions(services, Invitation.campaign_run_id == started.id)
        async with UnitOfWork(services.sessions) as uow:
            await uow.session.execute(
                delete(Invitation).where(Invitation.campaign_run_id == started.id)
            )
            await uow.commit()
        for external_id in CONTACTS:
            await fire(
                services, "relationship-nps", channel=None, contact={"external_id": external_id}
            )
        by_trigger = await _decisions(
            services, Invitation.campaign_run_id.is_(None) & (Invitation.id != earlier)
        )
    finally:
        await services.close()
    assert set(by_campaign) == set(by_trigger) == set(CONTACTS)
    # One rule, over the channels each may use: a campaign hands out no links, so the contact
    # whose only address is opted out is recorded as an opted-out skip there, while a trigger
    # falls back to the web chat, whose link goes back to the caller.
    link_only = "only-opted-out"
    assert {k: v for k, v in by_campaign.items() if k != link_only} == {
        k: v for k, v in by_trigger.items() if k != link_only
    }
    assert by_trigger[link_only][:3] == ("web", "scheduled", None)
    assert by_campaign["all-three"][:2] == ("telegram", "scheduled")
    assert by_campaign["sms-opted-out"][:2] == ("email", "scheduled")
    assert by_campaign["only-opted-out"][:3] == ("sms", "skipped", "opted_out")
    tokyo_morning = datetime(2026, 11, 3, 0, 0, tzinfo=UTC)
    assert by_campaign["tokyo-night"][1:] == ("scheduled", None, tokyo_morning)
    assert by_campaign["unknown-zone"][1:] == ("scheduled", None, NOON)  # the survey's zone: UTC
    assert by_campaign["surveyed-lately"][1:3] == ("skipped", "throttled")


def test_a_fallback_order_picks_its_first_reachable_channel() -> None:
    person = Person("42", "+14155550101", "a@example.test")
    assert chosen(person, order=["email", "sms"]) == "email"
    assert chosen(Person(None, "+14155550101"), order=["telegram", "email", "sms"]) == "sms"
    assert chosen(person, order=["sms", "email"], opted_out={"sms"}) == "email"
    # Every reachable one opted out: the first is kept, to record the refusal as a skip.
    assert chosen(person, order=["sms", "email"], opted_out={"sms", "email"}) == "sms"
    assert chosen(Person(), order=["telegram", "sms"]) == Unreachable(NO_ADDRESS)
    off = [BY_NAME["sms"], BY_NAME["web"]]  # telegram and email are off here
    assert decisions.choose_channel(person, off, order=["telegram", "email"]) == Unreachable(NOT_ON)


def test_the_fallback_order_comes_from_the_trigger_else_the_survey_never_with_a_channel() -> None:
    survey = Survey.model_validate({"key": "s", "metric": "csat", "channels": ["sms", "email"]})
    assert decisions.fallback_order(survey) == ["sms", "email"]
    assert decisions.fallback_order(survey, channels=["telegram", "sms"]) == ["telegram", "sms"]
    assert decisions.fallback_order(survey, requested="sms") is None
    assert decisions.fallback_order(Survey(key="s", metric="csat")) is None


def test_following_goes_forward_only_through_usable_channels() -> None:
    person = Person("42", None, "a@example.test")
    order = ["telegram", "sms", "email", "web"]

    def after(channel: str, **kwargs: Any) -> str | None:
        found = decisions.following(person, CHANNELS, order, channel, **kwargs)
        return found.name if found else None

    assert after("telegram") == "email"  # no phone: sms passed over
    assert after("email") == "web"
    assert after("email", by_itself=True) is None  # a reminder needs an address
    assert after("telegram", opted_out={"email"}) == "web"
    assert after("web") is None
    assert after("sms", opted_out=set()) == "email"
    assert decisions.following(person, CHANNELS, None, "telegram") is None
    assert decisions.following(person, CHANNELS, order, "pigeon") is None


def test_what_is_wrong_with_an_order() -> None:
    assert decisions.order_problem(["telegram", "sms", "web"], CHANNELS) is None
    assert decisions.order_problem(["sms", "pigeon"], CHANNELS) == (
        f"'pigeon' is not a channel; use {decisions.listed(registry.names())}"
    )
    assert decisions.order_problem(["sms", "sms"], CHANNELS) == (
        "sms is listed twice; name each channel once"
    )
    assert "can only be the last channel" in (
        decisions.order_problem(["web", "email"], CHANNELS) or ""
    )
