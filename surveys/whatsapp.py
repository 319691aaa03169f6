"""A survey's WhatsApp templates: the approved message per locale that opens a conversation."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from surveys.texts import locale_chain, normalize_locale

CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
VARIABLE = re.compile(r"[1-9][0-9]?")
MAX_VARIABLES = 20
MAX_VARIABLE_TEXT = 1024


class WhatsAppTemplate(BaseModel):
    """One approved template: its Content SID and what fills its variables {{1}}, {{2}}, …

    Each variable is a text with the survey's {placeholders} ("{first_name}"), filled from the
    trigger's and the contact's properties like the question is.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    content_sid: str
    variables: dict[str, str] = Field(default_factory=dict)

    @field_validator("content_sid")
    @classmethod
    def _sid(cls, value: str) -> str:
        if not CONTENT_SID.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a Content SID: HX and 32 hexadecimal digits, as Twilio's"
                " Content Template Builder shows it"
            )
        return value

    @field_validator("variables")
    @classmethod
    def _variables(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_VARIABLES:
            raise ValueError(f"at most {MAX_VARIABLES} variables, not {len(value)}")
        for name, text in value.items():
            if not VARIABLE.fullmatch(name):
                raise ValueError(f'{name!r} is not a template variable: use "1", "2", …')
            if not text.strip():
                raise ValueError(f"variable {name}: WhatsApp refuses an empty value")
            if len(text) > MAX_VARIABLE_TEXT:
                raise ValueError(f"variable {name}: longer than {MAX_VARIABLE_TEXT} characters")
        numbers = sorted(int(name) for name in value)
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError('number the variables "1", "2", … without gaps')
        return value


class WhatsAppOptions(BaseModel):
    """What a survey needs on WhatsApp: its templates by locale."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    templates: dict[str, WhatsAppTemplate] = Field(default_factory=dict)

    @field_validator("templates")
    @classmethod
    def _locales(cls, value: dict[str, WhatsAppTemplate]) -> dict[str, WhatsAppTemplate]:
        for locale in value:
            if normalize_locale(locale) is None:
                raise ValueError(f"{locale!r} is not a locale (en, fi, zh-Hant, …)")
        return value

    def template_for(self, locale: str | None, default_locale: str) -> WhatsAppTemplate | None:
        """The template in the reader's locale, else the survey's default one (else English).

        Unlike a text, no other language stands in: a template is approved for one language.
        """
        by_locale: dict[str, WhatsAppTemplate] = {}
        for key, template in self.templates.items():
            normalised = normalize_locale(key)
            if normalised is not None:
                by_locale.setdefault(normalised, template)
        for candidate in locale_chain(locale, default_locale):
            if candidate in by_locale:
                return by_locale[candidate]
        return None

    def texts(self) -> list[str]:
        """Every variable's text (what placeholders appear in)."""
        return [text for t in self.templates.values() for text in t.variables.values()]
