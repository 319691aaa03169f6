"""Tests of the built-in texts, locale resolution, picking and placeholder rendering."""

from __future__ import annotations

import re

import pytest

from surveys.keywords import Intent, detect_intent
from surveys.texts import (
    LOCALES,
    builtin,
    locale_chain,
    normalize_locale,
    pick,
    placeholders_in,
    render,
    ui_direction,
)
from surveys.texts_catalog import CATALOG

BANDS = ("negative", "neutral", "positive", "detractor", "passive", "promoter")
EXPECTED_KEYS = {
    "question.csat",
    "reminder",
    "question.nps",
    "question.ces",
    "hint.scale",
    "hint.scale_labels",
    "hint.skip",
    "reprompt.no_score",
    "reprompt.out_of_range",
    "reprompt.ambiguous",
    "reprompt.empty",
    "gave_up",
    "reason.prompt",
    "reason.reprompt",
    *(f"follow_up.{band}" for band in BANDS),
    *(f"thank_you.{band}" for band in BANDS),
    "closed",
    "already_answered",
    "opted_out",
    "opted_out.page",
    "opted_in",
    "help",
    "ui.title",
    "ui.send",
    "ui.placeholder",
    "ui.skip",
    "ui.ended",
    "ui.not_open",
    "ui.link_invalid",
    "ui.error",
    "telegram.linked",
    "telegram.link_invalid",
    "telegram.link_expired",
    "telegram.link_used",
    "telegram.about",
}
# The word each locale's skip hint tells the reader to reply.
SKIP_WORDS = {
    "en": "skip",
    "zh": "跳过",
    "zh-Hant": "跳過",
    "es": "omitir",
    "fr": "passer",
    "de": "nein",
    "pt": "pular",
    "fi": "ohita",
}

# GSM 03.38 default alphabet; the extension table costs two characters each.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"


def gsm7_length(text: str) -> int | None:
    """Septets the text takes in GSM-7, or None if it needs UCS-2."""
    length = 0
    for char in text:
        if char in GSM7_BASIC:
            length += 1
        elif char in GSM7_EXTENSION:
            length += 2
        else:
            return None
    return length


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", text))


def message_keys() -> list[str]:
    """Keys sent as chat or SMS messages (the ui.* strings only appear on the web page)."""
    return sorted(key for key in EXPECTED_KEYS if not key.startswith("ui."))


# --- the catalog -------------------------------------------------------------------------------


def test_catalog_has_exactly_the_public_locales() -> None:
    assert tuple(CATALOG) == LOCALES


@pytest.mark.parametrize("locale", LOCALES)
def test_every_key_exists_in_every_locale(locale: str) -> None:
    assert set(CATALOG[locale]) == EXPECTED_KEYS


@pytest.mark.parametrize("locale", LOCALES)
def test_texts_are_non_blank_and_trimmed(locale: str) -> None:
    for key, text in CATALOG[locale].items():
        assert text.strip() == text and text, (locale, key)


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders(locale: str) -> None:
    for key in EXPECTED_KEYS:
        assert placeholders(CATALOG[locale][key]) == placeholders(CATALOG["en"][key]), (locale, key)


def test_english_placeholders_are_the_documented_ones() -> None:
    assert placeholders(CATALOG["en"]["hint.scale"]) == {"low", "high"}
    assert placeholders(CATALOG["en"]["hint.scale_labels"]) == {
        "low",
        "high",
        "low_label",
        "high_label",
    }
    for key in ("reprompt.no_score", "reprompt.out_of_range", "reprompt.ambiguous"):
        assert placeholders(CATALOG["en"][key]) == {"low", "high"}


@pytest.mark.parametrize("locale", LOCALES)
def test_no_curly_quotes_or_emoji(locale: str) -> None:
    for key, text in CATALOG[locale].items():
        assert not set(text) & set("‘’‚‛“”„‟"), (locale, key)
        assert not any(ord(char) >= 0x1F000 or 0x2600 <= ord(char) < 0x2800 for char in text)


@pytest.mark.parametrize("locale", ["en", "de", "fi"])
def test_messages_stay_gsm7_where_the_language_allows(locale: str) -> None:
    for key in message_keys():
        assert gsm7_length(CATALOG[locale][key]) is not None, (locale, key)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_skip_hint_names_a_word_the_detector_knows(locale: str) -> None:
    word = SKIP_WORDS[locale]
    assert word in CATALOG[locale]["hint.skip"].casefold()
    assert detect_intent(word, locale) is Intent.SKIP


@pytest.mark.parametrize("locale", LOCALES)
def test_the_skip_button_word_skips_in_its_own_language(locale: str) -> None:
    assert detect_intent(CATALOG[locale]["ui.skip"], locale) is Intent.SKIP


@pytest.mark.parametrize("locale", LOCALES)
def test_only_the_hints_ask_for_typed_keywords(locale: str) -> None:
    """Where a button skips and on a page, no text may ask to reply SKIP or START."""
    texts = CATALOG[locale]
    assert placeholders_in(texts["hint.skip"]) == {"text"}
    for band in BANDS:
        assert SKIP_WORDS[locale] not in texts[f"follow_up.{band}"].casefold(), (locale, band)
    assert "START" not in texts["opted_out.page"]
    assert texts["opted_out"].startswith(texts["opted_out.page"])


@pytest.mark.parametrize("locale", LOCALES)
def test_carrier_keywords_stay_in_english(locale: str) -> None:
    assert "START" in CATALOG[locale]["opted_out"]
    assert "STOP" in CATALOG[locale]["help"]


def test_nps_question_and_hint_fit_one_gsm7_segment() -> None:
    text = (
        builtin("question.nps", "en")
        + " "
        + render(builtin("hint.scale", "en"), {"low": 0, "high": 10})
    )
    length = gsm7_length(text)
    assert length is not None
    assert length <= 160


def test_gsm7_check_itself() -> None:
    assert gsm7_length("Hello {x}") == 11
    assert gsm7_length("It’s") is None
    assert gsm7_length("Größe") == 5


# --- locales -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en", "en"),
        ("EN-us", "en"),
        ("pt_BR", "pt"),
        ("pt-BR", "pt"),
        ("fi-FI", "fi"),
        (" de-AT ", "de"),
        ("fr_CA.UTF-8", "fr"),
        ("zh", "zh"),
        ("zh-CN", "zh"),
        ("zh-Hans", "zh"),
        ("zh-SG", "zh"),
        ("zh-Hans-HK", "zh"),
        ("zh-TW", "zh-Hant"),
        ("zh-HK", "zh-Hant"),
        ("zh_MO", "zh-Hant"),
        ("zh-Hant", "zh-Hant"),
        ("ZH-HANT", "zh-Hant"),
        ("zh-Hant-TW", "zh-Hant"),
        ("ja", "ja"),
        ("ja-JP", "ja"),
        ("fil", "fil"),
        (None, None),
        ("", None),
        ("   ", None),
        ("e", None),
        ("english", None),
        ("en-US,en;q=0.9", None),
        ("*", None),
        ("und", None),
        ("中文", None),
        ("12", None),
        ("en--US", None),
    ],
)
def test_normalize_locale(tag: str | None, expected: str | None) -> None:
    assert normalize_locale(tag) == expected


@pytest.mark.parametrize(
    ("locale", "default", "expected"),
    [
        ("zh-Hant", "en", ("zh-Hant", "zh", "en")),
        ("zh-Hant", "de", ("zh-Hant", "zh", "de", "en")),
        ("zh-TW", "fi", ("zh-Hant", "zh", "fi", "en")),
        ("pt-BR", "en", ("pt", "en")),
        ("ja", "fr", ("ja", "fr", "en")),
        ("en", "en", ("en",)),
        ("fr", "fr-CA", ("fr", "en")),
        (None, "es", ("es", "en")),
        ("garbage!", "es", ("es", "en")),
        (None, "garbage!", ("en",)),
        ("de", "zh-HK", ("de", "zh-Hant", "zh", "en")),
        ("zh", "zh-Hant", ("zh", "zh-Hant", "en")),
    ],
)
def test_locale_chain(locale: str | None, default: str, expected: tuple[str, ...]) -> None:
    assert locale_chain(locale, default) == expected


def test_locale_chain_defaults_to_english() -> None:
    assert locale_chain("fi") == ("fi", "en")


# --- pick --------------------------------------------------------------------------------------


def test_pick_returns_a_plain_string_as_is() -> None:
    assert pick("How was it?", "fi") == "How was it?"


def test_pick_follows_the_chain() -> None:
    text = {"en": "Hello", "fi": "Hei", "zh": "你好"}
    assert pick(text, "fi-FI") == "Hei"
    assert pick(text, "zh-TW") == "你好"
    assert pick(text, "ja", default_locale="fi") == "Hei"
    assert pick(text, "de") == "Hello"
    assert pick(text, None) == "Hello"


def test_pick_normalises_the_mapping_keys() -> None:
    text = {"pt-BR": "Olá", "zh_TW": "您好", "EN": "Hello"}
    assert pick(text, "pt") == "Olá"
    assert pick(text, "zh-Hant-HK") == "您好"
    assert pick(text, "ja") == "Hello"


def test_pick_falls_back_to_the_first_text() -> None:
    assert pick({"fi": "Hei", "sv": "Hej"}, "de") == "Hei"
    assert pick({"not a locale!": "Hi"}, "de") == "Hi"


def test_pick_refuses_an_empty_mapping() -> None:
    with pytest.raises(ValueError):
        pick({}, "en")


# --- builtin -----------------------------------------------------------------------------------


def test_builtin_in_each_locale() -> None:
    assert builtin("ui.send", "de") == "Senden"
    assert builtin("ui.send", "zh-TW") == "傳送"
    assert builtin("ui.send", "zh-CN") == "发送"
    assert builtin("ui.send", "ja") == "Send"
    assert builtin("ui.send", "ja", default_locale="fi") == "Lähetä"
    assert builtin("ui.send", None, default_locale="pt-BR") == "Enviar"


def test_builtin_unknown_key_raises_key_error() -> None:
    with pytest.raises(KeyError):
        builtin("no.such.key", "en")


# --- render ------------------------------------------------------------------------------------


def test_render_fills_placeholders() -> None:
    assert render("From {low} to {high}.", {"low": 1, "high": 5}) == "From 1 to 5."


def test_render_leaves_unknown_placeholders_as_written() -> None:
    assert render("Thanks, {agent} will call {name}.", {"name": "Ann"}) == (
        "Thanks, {agent} will call Ann."
    )


@pytest.mark.parametrize(
    "template",
    ["{", "}", "a { b", "a } b", "{low", "low}", "{}", "{0}", "{ low }", "}{", "{{{", "{low!r}"],
)
def test_render_never_raises_on_malformed_braces(template: str) -> None:
    assert render(template, {"low": 1}) == template.replace("{{", "{")


def test_render_refuses_attribute_index_and_format_spec() -> None:
    values = {"a": "text", "low": 1}
    for template in ("{a.__class__}", "{a[0]}", "{a.upper}", "{low:>999999999}", "{low!s}"):
        assert render(template, values) == template


def test_render_does_not_expand_values_again() -> None:
    assert render("{a} {b}", {"a": "{b}", "b": "x"}) == "{b} x"


def test_render_unescapes_doubled_braces_like_str_format() -> None:
    assert render("{{low}} is {low}", {"low": 0}) == "{low} is 0"
    template = "{{low}} is {low}"
    assert render(template, {"low": 0}) == template.format(low=0)


def test_render_a_builtin_with_labels() -> None:
    text = render(
        builtin("hint.scale_labels", "en"),
        {"low": 0, "high": 10, "low_label": "not likely", "high_label": "very likely"},
    )
    assert text == "Reply with a number from 0 (not likely) to 10 (very likely)."


# --- direction ---------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", [*LOCALES, "ar", None, "garbage!"])
def test_ui_direction_is_ltr_for_every_shipped_text(locale: str | None) -> None:
    assert ui_direction(locale) == "ltr"
