"""Named themes: word forms per language, Chinese without spaces, accents, guessed locales."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.insight.themes import ThemeBook
from bot.insight.themes.language import guess_language
from bot.insight.themes.matching import Definitions
from bot.insight.themes.text import fold
from surveys.definitions import Survey

DEFINITIONS: Definitions = {
    "speed": {
        "en": ["slow", "took too long"],
        "fi": ["hidas", "odottaa"],
        "zh": ["慢", "等很久"],
        "es": ["rápido", "lento"],
        "fr": ["lent", "délai"],
    },
    "bugs": {"en": ["crash", "bug"], "zh": ["闪退", "卡"], "fr": ["bug"], "de": ["Absturz"]},
    "price": {"en": ["refund", "fee"], "zh": ["贵"], "zh-Hant": ["貴"], "de": ["Erstattung"]},
    "rudeness": ["rude", "impolite"],
}
BOOK = ThemeBook(DEFINITIONS)


@pytest.mark.parametrize(
    "comment",
    [
        "Palvelu oli todella hidasta.",
        "Asiakaspalvelu vastasi hitaasti.",
        "Hitaan toimituksen takia peruin tilauksen.",
        "Odotin puoli tuntia jonossa.",
        "Jouduin odottamaan kaksi viikkoa.",
    ],
)
def test_finnish_inflections_match_the_dictionary_form(comment: str) -> None:
    assert BOOK.assign(comment, "fi") == ("speed",)


def test_finnish_without_the_theme_matches_nothing() -> None:
    assert BOOK.assign("Hinta oli kohdallaan ja myyjä mukava.", "fi") == ()


@pytest.mark.parametrize(
    ("comment", "themes"),
    [
        ("客服回复太慢了", ("speed",)),
        ("排队等很久才有人接", ("speed",)),
        ("打开APP就闪退", ("bugs",)),
        ("网页一直卡住，东西又贵", ("bugs", "price")),
        ("绑定银行卡很顺利", ()),  # 卡 inside 银行卡 (bank card) is no bug
    ],
)
def test_chinese_is_matched_on_jieba_words_without_spaces(
    comment: str, themes: tuple[str, ...]
) -> None:
    assert BOOK.assign(comment, "zh") == themes


def test_both_chinese_scripts_share_their_terms() -> None:
    assert BOOK.assign("月費太貴了", "zh-TW") == ("price",)
    assert BOOK.assign("月费太贵了", "zh-Hant") == ("price",)


@pytest.mark.parametrize(
    ("comment", "locale"),
    [
        ("Muy rapido, gracias", "es"),  # typed without the accent
        ("Respondieron rapidísimo", "es"),
        ("Un delai de trois semaines", "fr"),
        ("Service très lente", "fr"),
    ],
)
def test_accents_and_endings_do_not_stop_a_match(comment: str, locale: str) -> None:
    assert BOOK.assign(comment, locale) == ("speed",)


def test_accent_folding_keeps_the_letters_a_language_needs() -> None:
    assert fold("Rápido", "es") == "rapido"
    assert fold("año", "es") == "año"
    assert fold("schön", "de") == "schoen"
    assert fold("hyvä", "fi") == "hyvä"
    assert fold("Délai", "fr") == "delai"


def test_german_compounds_and_umlauts() -> None:
    assert BOOK.assign("Die Rückerstattung dauert ewig", "de") == ("price",)
    assert BOOK.assign("Nach dem letzten Update ständig Abstürze", "de") == ("bugs",)


@pytest.mark.parametrize(
    ("comment", "themes"),
    [
        ("The app crashed twice and keeps crashing", ("bugs",)),
        ("Support answered slowly", ("speed",)),
        ("It took way too long", ("speed",)),
        ("Two refunds still missing", ("price",)),
        ("I feel fine about it", ()),  # "fee" is not in "feel"
        ("They were rude", ("rudeness",)),
    ],
)
def test_english_forms(comment: str, themes: tuple[str, ...]) -> None:
    assert BOOK.assign(comment, "en") == themes


def test_a_plain_list_and_a_theme_without_the_language_apply_to_any_language() -> None:
    assert BOOK.assign("Myyjä oli rude ja sovelluksessa on bug", "fi") == ("bugs", "rudeness")


@pytest.mark.parametrize(
    ("comment", "language"),
    [
        ("Die App stürzt ständig ab und niemand hilft", "de"),
        ("客服态度很差", "zh"),
        ("La aplicación es muy fácil de usar", "es"),
        ("J'ai attendu trop longtemps pour une réponse", "fr"),
        ("Demorou muito para resolver o meu problema", "pt"),
        ("Jouduin odottamaan liian kauan", "fi"),
        ("The agent was very patient with me", "en"),
    ],
)
def test_the_language_of_a_comment_without_locale_is_guessed(comment: str, language: str) -> None:
    assert guess_language(comment) == language


def test_an_unknown_locale_is_guessed_before_matching() -> None:
    assert BOOK.assign("Jouduin odottamaan tunnin", None) == ("speed",)
    assert BOOK.assign("客服回复太慢了", "not a locale") == ("speed",)
    assert BOOK.assign("👍👍", None) == ()


def test_a_survey_without_themes_gives_an_empty_book() -> None:
    book = ThemeBook.from_survey(Survey.model_validate({"key": "s", "metric": "csat"}))
    assert book.names == ()
    assert not book
    assert book.assign("slow and rude", "en") == ()
    assert len(book.version) == 12


def test_a_survey_book_keeps_the_definition_order_and_a_version_of_its_terms() -> None:
    themes = {"speed": {"en": ["slow"]}, "bugs": ["crash"]}
    survey = Survey.model_validate({"key": "s", "metric": "nps", "themes": themes})
    book = ThemeBook.from_survey(survey)
    assert book.names == ("speed", "bugs")
    assert book.assign("Slow, and then it crashed", "en") == ("bugs", "speed")
    assert ThemeBook.from_survey(survey).version == book.version
    changed: Definitions = {"speed": {"en": ["slow", "waited"]}, "bugs": ["crash"]}
    assert ThemeBook(changed).version != book.version


def test_one_book_serves_many_threads_alike() -> None:
    comments = [
        ("Jouduin odottamaan", "fi"),
        ("客服回复太慢了", "zh"),
        ("Respondieron rapidísimo", "es"),
        ("The app crashed", "en"),
        ("Die Rückerstattung dauert", "de"),
    ] * 20
    serial = [BOOK.assign(text, locale) for text, locale in comments]
    fresh = ThemeBook(DEFINITIONS)  # compiled for each language by whichever thread comes first
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda comment: fresh.assign(*comment), comments))
    assert parallel == serial
    assert {"speed", "bugs", "price"} <= {name for found in serial for name in found}
