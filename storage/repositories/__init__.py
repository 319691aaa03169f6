"""Repositories: small query classes that take the session and never commit."""

from storage.repositories.apikeys import ApiKeyRepository
from storage.repositories.contacts import ContactRepository, OptOutRepository
from storage.repositories.invitations import InvitationRepository
from storage.repositories.messages import MessageRepository, ResponseRepository
from storage.repositories.surveys import SurveyRepository

__all__ = [
    "ApiKeyRepository",
    "ContactRepository",
    "InvitationRepository",
    "MessageRepository",
    "OptOutRepository",
    "ResponseRepository",
    "SurveyRepository",
]
