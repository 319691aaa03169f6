"""Survey texts: locale resolution, the built-in texts by key, and safe placeholder filling."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from surveys.texts_catalog import CATALOG

LOCALES: tuple[str, ...] = ("en", "zh", "zh-Hant", "es", "fr", "de", "pt", "fi")

# Regions whose Chinese is written in Traditional characters when no script subtag says otherwise.
_TRADITIONAL_REGIONS = frozenset({"tw", "hk", "mo"})
_SUBTAG = re.compile(r"[a-z0-9]{1,8}")
# Locales written right to left; none of the shipped ones yet.
_RTL: frozenset[str] = frozenset()

# One pass over the template, so a value that contains braces is never expanded again. Only bare
# names are placeholders: templates come from users, and str.format would let "{a.__class__}" or a
# huge width like "{a:>999999999}" through.
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def normalize_locale(tag: str | None) -> str | None:
    """The locale a language tag means here: "pt_BR" → "pt", "zh-TW" → "zh-Hant"; None if garbage.

    Any well-formed tag keeps just its language ("ja-JP" → "ja"), except Chinese, where the script
    (or, lacking one, the region) decides between "zh" and "zh-Hant".
    """
    if not isinstance(tag, str):
        return None
    return _normalize(tag)


@lru_cache(maxsize=512)
def _normalize(tag: str) -> str | None:
    # POSIX locale names carry an encoding and a modifier: "pt_BR.UTF-8@euro".
    text = tag.strip().split(".", 1)[0].split("@", 1)[0]
    parts = text.replace("_", "-").lower().split("-")
    language, subtags = parts[0], parts[1:]
    if not (2 <= len(language) <= 3 and language.isascii() and language.isalpha()):
        return None
    if language == "und" or not all(_SUBTAG.fullmatch(subtag) for subtag in subtags):
        return None
    if language != "zh":
        return language
    # "zh-CHT"/"zh-CHS" are the legacy .NET names still sent by some clients.
    if "hant" in subtags or "cht" in subtags:
        return "zh-Hant"
    if "hans" in subtags or "chs" in subtags:
        return "zh"
    return "zh-Hant" if _TRADITIONAL_REGIONS.intersection(subtags) else "zh"


def locale_chain(locale: str | None, default_locale: str = "en") -> tuple[str, ...]:
    """The order to look texts up in: the locale, the survey's default locale, then English.

    Traditional Chinese falls back to Simplified before anything else, since a Chinese reader is
    better served by the other script than by another language.
    """
    chain: list[str] = []
    for tag in (normalize_locale(locale), normalize_locale(default_locale), "en"):
        if tag is None:
            continue
        for candidate in (tag, "zh") if tag == "zh-Hant" else (tag,):
            if candidate not in chain:
                chain.append(candidate)
    return tuple(chain)


def pick(text: str | Mapping[str, str], locale: str | None, default_locale: str = "en") -> str:
    """A survey author's text in the best locale: a plain string as is, else along locale_chain.

    Keys of the mapping are normalised like locales ("pt-BR" serves "pt"); when none matches, the
    mapping's first text is used, so an author who wrote only Finnish still gets Finnish out.
    Raises ValueError for an empty mapping (survey validation never lets one through).
    """
    if isinstance(text, str):
        return text
    by_locale: dict[str, str] = {}
    for key, value in text.items():
        normalised = normalize_locale(key)
        if normalised is not None:
            by_locale.setdefault(normalised, value)
    for candidate in locale_chain(locale, default_locale):
        if candidate in by_locale:
            return by_locale[candidate]
    for value in text.values():
        return value
    raise ValueError("a localized text needs at least one locale")


def builtin(key: str, locale: str | None, default_locale: str = "en") -> str:
    """A built-in text by key, in the best locale along locale_chain.

    Raises KeyError only for a key that does not exist: English carries every key.
    """
    for candidate in locale_chain(locale, default_locale):
        texts = CATALOG.get(candidate)
        if texts is not None and key in texts:
            return texts[key]
    raise KeyError(key)


def render(template: str, values: Mapping[str, object]) -> str:
    """Fill {name} placeholders from values; anything else is left exactly as written.

    Unknown names ("{agent}"), attribute or index access ("{a.b}", "{a[0]}"), format specs and
    stray braces stay in the text; "{{" and "}}" become "{" and "}" as in str.format. Never raises.
    """

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        return str(values[name]) if name in values else token

    return _TOKEN.sub(replace, template)


def placeholders_in(template: str) -> set[str]:
    """The names `render` would fill in template: "{agent}" is one, "{{agent}}" and "{a.b}" are not."""
    return {match.group(1) for match in _TOKEN.finditer(template) if match.group(1)}


def ui_direction(locale: str | None) -> str:
    """The writing direction ("ltr" or "rtl") of the texts that locale would be shown."""
    for candidate in locale_chain(locale):
        if candidate in CATALOG:
            return "rtl" if candidate in _RTL else "ltr"
    return "ltr"
