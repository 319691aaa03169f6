"""Errors the service raises for requests it refuses.

ServiceError           base: a request surveybot refuses, with the HTTP status it maps to
├── NotFound           raised when a named survey, contact or invitation does not exist
└── Unprocessable      raised when a valid-looking request cannot be carried out (field named)
"""

from __future__ import annotations


class ServiceError(Exception):
    """Raised for a refused request; `status` is the HTTP status code it maps to."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    """Raised when a named survey, contact or invitation does not exist."""

    status = 404


class Conflict(ServiceError):
    """Raised when the thing exists but its state forbids the request (cancel after sending)."""

    status = 409


class Unprocessable(ServiceError):
    """Raised when a request is well formed but cannot be carried out; names the field."""

    status = 422
