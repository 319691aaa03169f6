"""Settings from SURVEYBOT_* environment variables and a .env file, built once per process."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
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
    # How often the text analysis looks for new comments to give themes (one process at a time).
    tagging_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    # Transcripts and comments older than this many days are purged hourly (unset: kept).
    retention_days: int | None = Field(default=None, ge=1, le=36500)
    # Sends per second per channel, shared by every worker on the database (0: no limit);
    # unset, each channel's own default (its description in bot.wiring) applies.
    telegram_rate_per_second: float | None = Field(default=None, ge=0)
    sms_rate_per_second: float | None = Field(default=None, ge=0)
    email_rate_per_second: float | None = Field(default=None, ge=0)
    whatsapp_rate_per_second: float | None = Field(default=None, ge=0)
    log_level: str = "INFO"
    # Branding: the name on the chat, rating and unsubscribe pages and in emails (unset: the
    # built-in "Quick survey" in the reader's language), and the accent colour (#rrggbb).
    brand_name: str | None = None
    brand_color: str | None = None

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

    # WhatsApp (Twilio): on when the Twilio account SID and auth token and this sender are set;
    # the number WhatsApp shows, in E.164 ("+14155550100"; a "whatsapp:" prefix is dropped).
    whatsapp_from: str | None = None

    # Email (SMTP via aiosmtplib): on when the host and the sender are set.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    smtp_from: str | None = None
    smtp_unsubscribe_mailto: str | None = None
    # Health alerts (a survey gone silent, a channel failing, a webhook switched off) go to this
    # address through the SMTP settings; unset, they are warnings in the log only.
    operator_email: str | None = None
    # A survey that normally sends and has sent nothing for this many hours is reported.
    health_silent_hours: float = Field(default=24.0, gt=0, le=24 * 30)

    # Help-desk webhooks (/webhooks/events/{source}, /webhooks/zendesk): off until a secret is set.
    webhook_secrets: dict[str, SecretStr] = {}
    zendesk_webhook_secret: SecretStr | None = None
    helpdesk_survey: str | None = None
    helpdesk_channel: str | None = None  # a channel's name (checked against bot.wiring.registry)
    helpdesk_delay_seconds: int = Field(default=86400, ge=0, le=90 * 24 * 3600)
    # Zendesk write-back (bot.events.writeback): on when all three are set.
    zendesk_api_base: str | None = None
    zendesk_email: str | None = None
    zendesk_api_token: SecretStr | None = None
    # Phone numbers callers send without + and a country code are read as this region's
    # (e.g. US: "(415) 555-0123"); unset, every number must be E.164.
    default_phone_region: str | None = None

    @field_validator("default_phone_region")
    @classmethod
    def _phone_region(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        import phonenumbers  # only when set: it is not needed to start otherwise

        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                f"{value.strip()!r} is not a region phone numbers are known for: use a "
                "two-letter country code such as US, GB or FI"
            )
        return region

    @field_validator("whatsapp_from")
    @classmethod
    def _whatsapp_sender(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        number = value.strip().removeprefix("whatsapp:").strip()
        if not re.fullmatch(r"\+[1-9][0-9]{6,14}", number):
            raise ValueError(
                f"{value!r} is not a WhatsApp sender: write its number in E.164, e.g. +14155550100"
            )
        return number

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
        # Telegram takes 1-256 of these; fewer than 16 could be guessed.
        if not (16 <= len(secret) <= 256) or not all(
            (c.isascii() and c.isalnum()) or c in "_-" for c in secret
        ):
            raise ValueError(
                "must be 16 to 256 characters of A-Z, a-z, 0-9, _ and - "
                "(a shorter secret can be guessed), e.g. from `openssl rand -hex 16`"
            )
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

    @field_validator("zendesk_webhook_secret")
    @classmethod
    def _zendesk_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Runs after _blank_is_unset: a blank secret is unset, a short one can be guessed.
        if value is not None and len(value.get_secret_value().strip()) < 16:
            raise ValueError(
                "must be at least 16 characters (Zendesk's signing secret is longer: "
                "copy all of it)"
            )
        return value

    @field_validator("zendesk_api_base")
    @classmethod
    def _zendesk_api_base(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.username is not None
            or parts.path.strip("/")
            or parts.query
            or parts.fragment
        ):
            raise ValueError(
                f"{value.strip()!r} is not a Zendesk address: write it as"
                " https://<subdomain>.zendesk.com, without a path"
            )
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("zendesk_email")
    @classmethod
    def _zendesk_email(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        email = value.strip()
        name, at, domain = email.partition("@")
        if not (name and at and domain) or "@" in domain or any(c.isspace() for c in email):
            raise ValueError(
                "is not an email address: use the Zendesk user's, e.g. agent@example.com"
            )
        return email

    @field_validator("zendesk_api_token")
    @classmethod
    def _zendesk_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        return SecretStr(value.get_secret_value().strip())

    @field_validator("operator_email")
    @classmethod
    def _operator_email(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from email_validator import EmailNotValidError, validate_email

        try:
            return validate_email(value.strip(), check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"{value.strip()!r} is not an email address: {exc}") from exc

    @field_validator("brand_name")
    @classmethod
    def _brand_name(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if len(value) > 80 or not value.isprintable():
            raise ValueError("must be one line of at most 80 printable characters")
        return value

    @field_validator("brand_color")
    @classmethod
    def _brand_color(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        color = value.strip().lower()
        if len(color) != 7 or color[0] != "#" or color[1:].strip("0123456789abcdef"):
            raise ValueError(f"{value!r} is not a colour: write it as #rrggbb, e.g. #1a56db")
        return color

    @model_validator(mode="after")
    def _whole_groups(self) -> Settings:
        # A half-given group would leave a channel or receiver silently off: name what is missing.
        problems = _half_given(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

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


def _half_given(settings: Settings) -> list[str]:
    """A sentence per settings group that is only partly set, naming the setting to add."""

    def given(value: object) -> bool:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        return bool(text and str(text).strip())

    s = settings
    problems = []
    if given(s.smtp_host) != given(s.smtp_from):
        missing = "SURVEYBOT_SMTP_FROM" if given(s.smtp_host) else "SURVEYBOT_SMTP_HOST"
        problems.append(
            f"{missing} is not set: the email channel needs both SURVEYBOT_SMTP_HOST and"
            " SURVEYBOT_SMTP_FROM (the sender, e.g. surveys@example.com); set both, or neither"
        )
    if given(s.operator_email) and not (given(s.smtp_host) and given(s.smtp_from)):
        problems.append(
            "SURVEYBOT_SMTP_HOST and SURVEYBOT_SMTP_FROM are not set: health alerts to"
            " SURVEYBOT_OPERATOR_EMAIL are mailed through them; set them, or unset"
            " SURVEYBOT_OPERATOR_EMAIL (the alerts then go to the log)"
        )
    if given(s.smtp_username) != given(s.smtp_password):
        missing = "SURVEYBOT_SMTP_PASSWORD" if given(s.smtp_username) else "SURVEYBOT_SMTP_USERNAME"
        problems.append(
            f"{missing} is not set: SMTP login needs both SURVEYBOT_SMTP_USERNAME and"
            " SURVEYBOT_SMTP_PASSWORD; set both, or neither"
        )
    twilio = {
        "SURVEYBOT_TWILIO_ACCOUNT_SID": given(s.twilio_account_sid),
        "SURVEYBOT_TWILIO_AUTH_TOKEN": given(s.twilio_auth_token),
        # WhatsApp alone is a complete group too: its sender stands in for the SMS one.
        "SURVEYBOT_TWILIO_FROM_NUMBER, SURVEYBOT_TWILIO_MESSAGING_SERVICE_SID or"
        " SURVEYBOT_WHATSAPP_FROM": given(s.twilio_from_number)
        or given(s.twilio_messaging_service_sid)
        or given(s.whatsapp_from),
    }
    if any(twilio.values()) and not all(twilio.values()):
        absent = [name for name, present in twilio.items() if not present]
        verb = "is" if len(absent) == 1 else "are"
        problems.append(
            f"{' and '.join(absent)} {verb} not set: the SMS and WhatsApp channels need the Twilio account"
            " SID, its auth token and a sender; set them all, or none"
        )
    if given(s.telegram_webhook_secret) and not given(s.telegram_bot_token):
        problems.append(
            "SURVEYBOT_TELEGRAM_BOT_TOKEN is not set: SURVEYBOT_TELEGRAM_WEBHOOK_SECRET is for the"
            " Telegram channel; set the bot token too, or unset the secret"
        )
    if given(s.zendesk_webhook_secret) and not given(s.helpdesk_survey):
        problems.append(
            "SURVEYBOT_HELPDESK_SURVEY is not set: the Zendesk receiver needs the key of the"
            " survey to send when a ticket is solved; set it, or unset"
            " SURVEYBOT_ZENDESK_WEBHOOK_SECRET"
        )
    zendesk = {
        "SURVEYBOT_ZENDESK_API_BASE": given(s.zendesk_api_base),
        "SURVEYBOT_ZENDESK_EMAIL": given(s.zendesk_email),
        "SURVEYBOT_ZENDESK_API_TOKEN": given(s.zendesk_api_token),
    }
    if any(zendesk.values()) and not all(zendesk.values()):
        absent = [name for name, present in zendesk.items() if not present]
        verb = "is" if len(absent) == 1 else "are"
        problems.append(
            f"{' and '.join(absent)} {verb} not set: the Zendesk write-back needs the account's"
            " address, an agent's email and an API token; set them all, or none"
        )
    return problems


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
