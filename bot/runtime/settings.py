"""Settings from SURVEYBOT_* environment variables and a .env file, built once per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.database import DEFAULT_DATABASE_URL, normalize_url


class Settings(BaseSettings):
    """Everything configurable; see docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="SURVEYBOT_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    public_url: str | None = None
    secret_key: SecretStr | None = None
    invitation_ttl_hours: int = Field(default=7 * 24, gt=0)
    max_reprompts: int = Field(default=2, ge=0, le=10)
    dispatch_interval_seconds: float = Field(default=0.5, gt=0, le=60)
    dispatch_batch_size: int = Field(default=100, ge=1, le=10_000)
    dispatch_concurrency: int = Field(default=20, ge=1, le=1000)
    lease_seconds: int = Field(default=60, ge=5)
    max_send_attempts: int = Field(default=6, ge=1)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    surveys_file: Path | None = None
    # Whether this process competes to run the campaign scheduler (one per database runs it).
    scheduler: bool = True
    # Sends per second per channel, shared by every worker on the database (0: no limit);
    # unset, each channel's own default (its description in bot.wiring) applies.
    telegram_rate_per_second: float | None = Field(default=None, ge=0)
    sms_rate_per_second: float | None = Field(default=None, ge=0)
    email_rate_per_second: float | None = Field(default=None, ge=0)
    log_level: str = "INFO"

    # Telegram (aiogram): on when the token is set; webhook mode when the secret is set.
    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str | None = None
    telegram_webhook_secret: SecretStr | None = None

    # SMS (Twilio): on when the account, token and a sender are set.
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base: str | None = None

    # Email (SMTP via aiosmtplib): on when the host and the sender are set.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    smtp_from: str | None = None
    smtp_unsubscribe_mailto: str | None = None

    # Help-desk webhooks (/webhooks/events/{source}, /webhooks/zendesk): off until a secret is set.
    webhook_secrets: dict[str, SecretStr] = {}
    zendesk_webhook_secret: SecretStr | None = None
    helpdesk_survey: str | None = None
    helpdesk_channel: str | None = None  # a channel's name (checked against bot.wiring.registry)
    helpdesk_delay_seconds: int = Field(default=86400, ge=0, le=90 * 24 * 3600)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return normalize_url(value)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if not secret:
            return None
        if not (1 <= len(secret) <= 256) or not all(c.isalnum() or c in "_-" for c in secret):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("secret_key")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (or unset: one is generated)")
        return value

    @field_validator("webhook_secrets")
    @classmethod
    def _webhook_secrets(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        # A short shared secret can be guessed offline from one captured signature.
        for source, secret in value.items():
            if len(secret.get_secret_value()) < 16:
                raise ValueError(f"the secret for {source!r} must be at least 16 characters")
        return value

    @field_validator("zendesk_webhook_secret", "helpdesk_survey")
    @classmethod
    def _blank_is_unset(cls, value: SecretStr | str | None) -> SecretStr | str | None:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        return value if text and text.strip() else None

    def rate_for(self, channel: str, default: float) -> float:
        """The channel's sends per second: its SURVEYBOT_<CHANNEL>_RATE_PER_SECOND, else `default`."""
        rate = getattr(self, f"{channel}_rate_per_second", None)
        return default if rate is None else float(rate)

    def base_url(self) -> str:
        """Where links point: SURVEYBOT_PUBLIC_URL, or the address serve listens on."""
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
