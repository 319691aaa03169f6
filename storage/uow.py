"""The unit of work: one transaction, rolled back on exit unless commit() was called."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories import (
    AnswerRepository,
    ApiKeyRepository,
    CampaignRepository,
    CampaignRunRepository,
    ChannelFailureRepository,
    ContactRepository,
    DeliveryRepository,
    EventRepository,
    InvitationRepository,
    LeaseRepository,
    LinkClaimRepository,
    MessageRepository,
    OptOutRepository,
    PrivacyRepository,
    RateRepository,
    ReportRepository,
    ResponseRepository,
    SurveyRepository,
    ThemeRepository,
    WebhookRepository,
)
from storage.repositories.events import Announced


class UnitOfWork:
    """Repositories sharing one session; they never commit, the unit of work does."""

    session: AsyncSession
    surveys: SurveyRepository
    contacts: ContactRepository
    invitations: InvitationRepository
    failures: ChannelFailureRepository
    messages: MessageRepository
    responses: ResponseRepository
    opt_outs: OptOutRepository
    api_keys: ApiKeyRepository
    rates: RateRepository
    reports: ReportRepository
    campaigns: CampaignRepository
    campaign_runs: CampaignRunRepository
    leases: LeaseRepository
    link_claims: LinkClaimRepository
    answers: AnswerRepository
    themes: ThemeRepository
    privacy: PrivacyRepository
    events: EventRepository
    webhooks: WebhookRepository
    deliveries: DeliveryRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> UnitOfWork:
        self._lock = getattr(self._sessions, "write_lock", None)
        if self._lock is not None:
            await self._lock.acquire()
        self.session = self._sessions()
        self.surveys = SurveyRepository(self.session)
        self.contacts = ContactRepository(self.session)
        self.invitations = InvitationRepository(self.session)
        self.failures = ChannelFailureRepository(self.session)
        self.messages = MessageRepository(self.session)
        self.responses = ResponseRepository(self.session)
        self.opt_outs = OptOutRepository(self.session)
        self.api_keys = ApiKeyRepository(self.session)
        self.rates = RateRepository(self.session)
        self.reports = ReportRepository(self.session)
        self.campaigns = CampaignRepository(self.session)
        self.campaign_runs = CampaignRunRepository(self.session)
        self.leases = LeaseRepository(self.session)
        self.link_claims = LinkClaimRepository(self.session)
        self.answers = AnswerRepository(self.session)
        self.themes = ThemeRepository(self.session)
        self.privacy = PrivacyRepository(self.session)
        self.events = EventRepository(self.session)
        self.webhooks = WebhookRepository(self.session)
        self.deliveries = DeliveryRepository(self.session)
        self._announced: list[Announced] = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back an uncommitted transaction and detaches the loaded objects without
        # expiring them (rollback() would), so results stay readable after the unit of work.
        try:
            await self.session.close()
        finally:
            if self._lock is not None:
                self._lock.release()

    async def flush(self) -> None:
        """Send the pending changes (the transaction stays open)."""
        await self.session.flush()

    def announce(self, event: Announced) -> None:
        """Write `event` to the outbox with this transaction's commit (never without it)."""
        self._announced.append(event)

    def take_announced(self) -> list[Announced]:
        """The events announced so far, for a caller that writes them itself (the answer path
        writes them in its own single statement); they are no longer written at commit."""
        taken, self._announced = self._announced, []
        return taken

    async def commit(self) -> None:
        if self._announced:
            # Written last, so that rows the transaction added (a new response) have their ids.
            await self.events.add_many(self._announced)
            self._announced.clear()
        await self.session.commit()

    async def rollback(self) -> None:
        self._announced.clear()
        await self.session.rollback()
