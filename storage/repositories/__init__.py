"""Repositories: small query classes that take the session and never commit."""

from storage.repositories.answers import AnswerRepository, ThemeRepository
from storage.repositories.apikeys import ApiKeyRepository
from storage.repositories.campaigns import CampaignRepository, CampaignRunRepository
from storage.repositories.contacts import ContactRepository, OptOutRepository
from storage.repositories.events import DeliveryRepository, EventRepository, WebhookRepository
from storage.repositories.failures import ChannelFailureRepository
from storage.repositories.invitations import InvitationRepository
from storage.repositories.leases import LeaseRepository
from storage.repositories.link_claims import LinkClaimRepository
from storage.repositories.messages import MessageRepository, ResponseRepository
from storage.repositories.privacy import PrivacyRepository
from storage.repositories.rates import RateRepository
from storage.repositories.reports import ReportRepository
from storage.repositories.surveys import SurveyRepository

__all__ = [
    "AnswerRepository",
    "ApiKeyRepository",
    "CampaignRepository",
    "CampaignRunRepository",
    "ChannelFailureRepository",
    "ContactRepository",
    "DeliveryRepository",
    "EventRepository",
    "InvitationRepository",
    "LeaseRepository",
    "LinkClaimRepository",
    "MessageRepository",
    "OptOutRepository",
    "PrivacyRepository",
    "RateRepository",
    "ReportRepository",
    "ResponseRepository",
    "SurveyRepository",
    "ThemeRepository",
    "WebhookRepository",
]
