"""The unit of work: one transaction, rolled back on exit unless commit() was called."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories import (
    AnswerRepository,
    ApiKeyRepository,
    CampaignRepository,
    CampaignRunRepository,
    ContactRepository,
    InvitationRepository,
    LeaseRepository,
    LinkClaimRepository,
    MessageRepository,
    OptOutRepository,
    RateRepository,
    ReportRepository,
    ResponseRepository,
    SurveyRepository,
    ThemeRepository,
)


class UnitOfWork:
    """Repositories sharing one session; they never commit, the unit of work does."""

    session: AsyncSession
    surveys: SurveyRepository
    contacts: ContactRepository
    invitations: InvitationRepository
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

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()
