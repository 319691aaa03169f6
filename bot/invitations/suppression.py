"""Suppressed addresses: the opt-outs of erased contacts, kept as keyed hashes, checked as opt-outs.

Erasing a contact removes their addresses, and their opt-outs would go with them: the next
trigger naming the same phone number would survey someone who asked not to be. So before the
addresses go, each opted-out channel's address is stored as an HMAC-SHA256 (never the address
itself), and every eligibility check — triggers, campaign runs, the outbox's check before a
send — hashes the address it is about to use and treats a match as an opt-out.

The key is derived from the instance secret (`Services.secret`), so the list cannot be tested
against guessed addresses without it. Addresses are normalised as contacts are: phone numbers
as E.164, email addresses lower-cased, Telegram chat ids as they are.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.contacts.schemas import normalize_phone
from channels.base import ChannelInfo
from storage.uow import UnitOfWork

# A key of its own: a suppression hash is never also a valid link signature, or the reverse.
_PURPOSE = b"surveybot suppression list v1"


def normalised(field_name: str, address: str) -> str:
    """The form of an address that is hashed: E.164, a lower-cased email, a chat id as is."""
    value = address.strip()
    if field_name == "phone":
        try:
            return normalize_phone(value)
        except ValueError:
            return value  # stored before numbers were checked: hashed as it was stored
    if field_name == "email":
        return value.lower()
    return value


@dataclass(frozen=True, slots=True)
class Suppressions:
    """Hashes addresses for the suppression list and looks them up."""

    key: bytes = field(repr=False)

    @classmethod
    def keyed_by(cls, secret: str) -> Suppressions:
        """The suppression key derived from the instance secret."""
        return cls(hmac.new(secret.encode("utf-8"), _PURPOSE, hashlib.sha256).digest())

    def digest(self, field_name: str, address: str) -> str:
        """The keyed hash of one address (`field_name`: the contact field that holds it)."""
        data = normalised(field_name, address).encode("utf-8", "surrogatepass")
        return hmac.new(self.key, data, hashlib.sha256).hexdigest()

    def hashes(self, contact: Any, channels: Iterable[ChannelInfo]) -> dict[str, str]:
        """Channel name -> the hash of the contact's address there, on the channels that reach
        a person by an address of their own (a link-only channel has nothing to suppress)."""
        found = {}
        for info in channels:
            address = info.address_of(contact)
            if info.address is not None and address:
                found[info.name] = self.digest(info.address, address)
        return found

    async def channels_of(
        self, uow: UnitOfWork, contact: Any, channels: Sequence[ChannelInfo]
    ) -> set[str]:
        """The channels among `channels` on which the contact's address is suppressed."""
        return {channel for _, channel in await self.of_contacts(uow, [contact], channels)}

    async def of_contacts(
        self, uow: UnitOfWork, contacts: Iterable[Any], channels: Sequence[ChannelInfo]
    ) -> set[tuple[int, str]]:
        """(contact id, channel) for each of these contacts' addresses that is suppressed;
        one look-up for all of them."""
        wanted: dict[tuple[str, str], list[int]] = {}
        for contact in contacts:
            for channel, digest in self.hashes(contact, channels).items():
                wanted.setdefault((channel, digest), []).append(contact.id or 0)
        if not wanted:
            return set()
        listed = await uow.privacy.suppressed(wanted)
        return {(cid, pair[0]) for pair in listed for cid in wanted[pair]}
