"""The suppression list: addresses hashed as contacts are normalised, with a key of the instance's
own; a campaign run skips an erased contact's opted-out address as opted out, whoever has it."""

from __future__ import annotations

from types import SimpleNamespace

from bot.invitations.suppression import Suppressions, normalised
from bot.privacy.erase import erase_contact
from bot.runtime.services import Services
from bot.wiring import registry
from storage.uow import UnitOfWork
from tests.bot.campaigns.campaign_env import add_contacts, manager, nps, spec
from tests.bot.campaigns.test_runs import invitations, run_now

KEYED = Suppressions.keyed_by("an instance secret of enough length")


def test_addresses_are_hashed_in_the_form_contacts_are_stored_in() -> None:
    assert normalised("phone", " +1 (415) 555-0199 ") == "+14155550199"
    assert normalised("phone", "0199") == "0199"  # not a number: hashed as it was stored
    assert normalised("email", " Ana.Lee@Example.ORG") == "ana.lee@example.org"
    assert normalised("telegram_chat_id", "-100123") == "-100123"
    assert KEYED.digest("phone", "+1 415 555 0199") == KEYED.digest("phone", "+14155550199")
    assert KEYED.digest("email", "ANA@x.example") == KEYED.digest("email", "ana@x.example")
    other = Suppressions.keyed_by("another instance's secret, as long")
    assert other.digest("phone", "+14155550199") != KEYED.digest("phone", "+14155550199")
    digest = KEYED.digest("phone", "+14155550199")
    assert len(digest) == 64 and "4155550199" not in digest


def test_only_channels_with_an_address_of_their_own_have_a_hash() -> None:
    person = SimpleNamespace(phone="+14155550199", email=None, telegram_chat_id="42")
    hashes = KEYED.hashes(person, registry.infos())
    # No email known; the web chat has no address; SMS and WhatsApp both reach the phone.
    assert set(hashes) == {"sms", "whatsapp", "telegram"}
    assert hashes["telegram"] == KEYED.digest("telegram_chat_id", "42")


async def test_a_campaign_run_skips_an_erased_contacts_opted_out_addresses(
    services: Services,
) -> None:
    await nps(services)
    await add_contacts(
        services,
        {
            "id": "gone",
            "phone": "+14155550199",
            "email": "Zed@Example.org",
            "telegram_chat_id": "9",
        },
    )
    async with UnitOfWork(services.sessions) as uow:
        gone = await uow.contacts.get_by_external_id("gone")
        assert gone is not None and gone.id is not None
        # Every channel that reaches the phone and the address (else the next one would ask).
        for channel in ("sms", "whatsapp", "email"):
            await uow.opt_outs.add(gone.id, channel, "keyword")
        await erase_contact(
            uow,
            "gone",
            suppression=services.suppression,
            channels=registry.infos(),
            now=services.clock(),
        )
        await uow.commit()
    await add_contacts(
        services,
        {"id": "same-phone", "phone": "+14155550199"},
        {"id": "same-email", "email": "zed@example.ORG"},
        {"id": "same-chat", "telegram_chat_id": "9", "phone": "+14155550199"},
        {"id": "someone-else", "phone": "+14155550123"},
    )
    campaigns = manager(services)
    await campaigns.create(spec())
    run = await run_now(campaigns)
    found = await invitations(services, run.id or 0)
    assert {k: (v.channel, v.status, v.skip_reason) for k, v in found.items()} == {
        "same-phone": ("sms", "skipped", "opted_out"),
        "same-email": ("email", "skipped", "opted_out"),
        "same-chat": ("telegram", "scheduled", None),  # not opted out on Telegram
        "someone-else": ("sms", "scheduled", None),
    }
    # The erased contact is in the audience but has no address left: no invitation.
    assert (run.audience, run.invited, run.skipped) == (5, 2, 3)
