"""Tests of the answer parser on real-world replies in eight locales: scores, comments, problems."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from surveys.parsing import ParsedAnswer, parse_answer
from tests.surveys.answer_scales import CES, CSAT, NPS, PROBLEMS, TEN

ANY = object()  # the comment is not checked


# (reply, scale, locale, expected score or problem code, expected comment or ANY)
ROWS: list[tuple[str, tuple[int, int], str | None, int | str, Any]] = [
    # --- en: digits, fractions, filler
    ("9", NPS, "en", 9, None),
    ("9/10", NPS, "en", 9, None),
    ("9 / 10", NPS, "en", 9, None),
    ("I'd say 8", NPS, "en", 8, None),
    ("I’d say 8", NPS, "en", 8, None),
    ("10!!!", NPS, "en", 10, None),
    ("8.", NPS, "en", 8, None),
    ("a solid 7", NPS, "en", 7, None),
    ("7/10 would recommend", NPS, "en", 7, "would recommend"),
    ("10/10 would recommend!!", NPS, None, 10, "would recommend"),
    ("nine", NPS, "en", 9, None),
    ("Eight", NPS, None, 8, None),
    ("TEN!", NPS, "en-US", 10, None),
    ("ten out of ten", NPS, "en", 10, None),
    ("10 out of 10", NPS, "en", 10, None),
    ("seven out of ten, a bit slow", NPS, "en", 7, "a bit slow"),
    ("It was fine. 6 out of 10", NPS, "en", 6, "It was fine"),
    ("9 - quick and friendly", NPS, "en", 9, "quick and friendly"),
    ("Nine, great service", NPS, "en", 9, "great service"),
    ("10 thx", NPS, "en", 10, None),
    ("ok 8", NPS, "en", 8, None),
    ("Def a 9!!", NPS, "en", 9, None),
    ("I give it a 6", NPS, "en", 6, None),
    ("maybe 7", NPS, "en", 7, None),
    ("Rating: 8", NPS, "en", 8, None),
    ("prob a 6 tbh", NPS, "en", 6, None),
    ("9 I guess", NPS, "en", 9, None),
    ("Def 10, Sarah was amazing", NPS, "en", 10, "Sarah was amazing"),
    ("Score 9/10, the technician was on time", NPS, "en", 9, "the technician was on time"),
    ("Great service, I'd say 9", NPS, "en", 9, "Great service"),
    (
        "Honestly I'd give it a 7 because the wait was long",
        NPS,
        "en",
        7,
        "because the wait was long",
    ),
    ("The app was ok, 7, but slow checkout", NPS, "en", 7, "The app was ok, but slow checkout"),
    ("Great service. 9. Will come back", NPS, "en", 9, "Great service. Will come back"),
    ("9 but the app keeps logging me out", NPS, "en", 9, "but the app keeps logging me out"),
    ("8/10 waited 20 minutes", NPS, "en", 8, "waited 20 minutes"),
    ("9. yes, 9", NPS, "en", 9, None),
    ("Um, 8", NPS, None, 8, None),
    ("5/10 meh", NPS, "en", 5, "meh"),
    ("on a scale of 1-10 I'd say 8", TEN, "en", 8, None),
    ("Out of 10, I'd give a 9", NPS, "en", 9, None),
    ("Auf einer Skala von 1 bis 10: 8", NPS, "de", 8, None),
    # --- en: numbers that are not scores
    (
        "I waited 45 minutes but the agent fixed it. 8",
        NPS,
        "en",
        8,
        "I waited 45 minutes but the agent fixed it",
    ),
    ("3 days later, 2", NPS, "en", 2, "3 days later"),
    ("Took 2 hours on hold. 3", NPS, "en", 3, "Took 2 hours on hold"),
    ("Order #12345 arrived late. 4", CSAT, "en", 4, "Order #12345 arrived late"),
    ("24/7 support, 9", NPS, "en", 9, "24/7 support"),
    ("Called at 3pm, fixed by 4pm. 9", NPS, "en", 9, "Called at 3pm, fixed by 4pm"),
    ("2nd time calling, 6", NPS, "en", 6, "2nd time calling"),
    ("Paid $40 for nothing. 2", NPS, "en", 2, "Paid $40 for nothing"),
    ("One of the best, 9", NPS, "en", 9, "One of the best"),
    ("Zero issues, 10", NPS, "en", 10, "Zero issues"),
    ("zero.", NPS, "en", 0, None),
    ("One. Terrible", NPS, "en", 1, "Terrible"),
    ("100% satisfied", NPS, "en", "no_score", None),
    # --- en: ambiguous and out of range
    ("8.5", NPS, "en", "ambiguous", None),
    ("7 or 8", NPS, "en", "ambiguous", None),
    ("7-8", NPS, "en", "ambiguous", None),
    ("between 6 and 7", NPS, "en", "ambiguous", None),
    ("The 2 agents were great, 9", NPS, "en", "ambiguous", None),
    ("Would be a 10 if delivery was faster. 8", NPS, "en", "ambiguous", None),
    ("9, 10 if you fix the app", NPS, "en", "ambiguous", None),
    ("11", NPS, "en", "out_of_range", None),
    ("100", NPS, "en", "out_of_range", None),
    ("11/10 amazing", NPS, "en", "out_of_range", None),
    ("-1", NPS, "en", "out_of_range", None),
    ("6", CSAT, "en", "out_of_range", None),
    ("0", CSAT, "en", "out_of_range", None),
    ("8", CES, "en", "out_of_range", None),
    ("8/10", CSAT, "en", "ambiguous", None),
    ("10 out of 10", CSAT, "en", "ambiguous", None),
    ("great service", NPS, "en", "no_score", None),
    ("thanks!", NPS, "en", "no_score", None),
    ("", NPS, "en", "empty", None),
    ("   \n\t", NPS, "en", "empty", None),
    # --- other scales
    ("4/5", CSAT, "en", 4, None),
    ("5/5 stars", CSAT, "en", 5, None),
    ("4 stars", CSAT, "en", 4, None),
    ("4 stars - love it 😊", CSAT, "en", 4, "love it 😊"),
    ("4 stars out of 5", CSAT, "en", 4, None),
    ("4*", CSAT, "en", 4, None),
    ("5", CES, "en", 5, None),
    ("7 - super easy", CES, "en", 7, "super easy"),
    ("10/10", TEN, "en", 10, None),
    ("3", (1, 3), "en", 3, None),
    # --- stars, emoji, keycaps, other scripts
    ("⭐⭐⭐⭐", CSAT, None, 4, None),
    ("★★★☆☆", CSAT, None, 3, None),
    ("4⭐", CSAT, None, 4, None),
    ("⭐⭐⭐⭐⭐ amazing staff", CSAT, "en", 5, "amazing staff"),
    ("4 ⭐⭐⭐⭐", CSAT, None, 4, None),
    ("5 ⭐⭐⭐", CSAT, None, "ambiguous", None),
    ("⭐⭐⭐⭐⭐", NPS, None, "no_score", None),
    ("👍", CSAT, None, "no_score", None),
    ("👎", CSAT, None, "no_score", None),
    ("😍", CSAT, None, 5, None),
    ("😍😍😍", CSAT, None, 5, None),
    ("😡", CSAT, None, 1, None),
    ("😞", CSAT, None, 2, None),
    ("😐", CSAT, None, 3, None),
    ("🙂 nice people", CSAT, "en", 4, "nice people"),
    ("4 😡", CSAT, None, 4, None),
    ("😡😍", CSAT, None, "ambiguous", None),
    ("😍", NPS, None, "no_score", None),
    ("🔟", NPS, None, 10, None),
    ("9️⃣", NPS, None, 9, None),
    ("1️⃣0️⃣", NPS, None, 10, None),
    ("🔟 fast and friendly", NPS, "en", 10, "fast and friendly"),
    ("８", NPS, None, 8, None),
    ("٩", NPS, None, 9, None),
    ("९", NPS, None, 9, None),
    ("১০", NPS, None, 10, None),
    ("١٠/١٠", NPS, None, 10, None),
    # --- es
    ("9", NPS, "es", 9, None),
    ("nueve", NPS, "es", 9, None),
    ("diez de diez", NPS, "es", 10, None),
    ("Le doy un 9", NPS, "es", 9, None),
    ("diría que un 8", NPS, "es", 8, None),
    ("Un diez!", NPS, "es", 10, None),
    ("9, muy amables", NPS, "es", 9, "muy amables"),
    ("Esperé 2 horas, un 5", NPS, "es", 5, "Esperé 2 horas"),
    ("uno de los mejores, 9", NPS, "es", 9, "uno de los mejores"),
    ("Uno, malísimo", NPS, "es", 1, "malísimo"),
    ("9 de 10, rápido y fácil", NPS, "es-MX", 9, "rápido y fácil"),
    ("tres", NPS, "es", 3, None),
    ("nota 7", NPS, "es", 7, None),
    ("5 de 5 estrellas", CSAT, "es", 5, None),
    ("cinco estrellas", CSAT, "es", 5, None),
    ("siete u ocho", NPS, "es", "ambiguous", None),
    ("8,5", NPS, "es", "ambiguous", None),
    ("un 12", NPS, "es", "out_of_range", None),
    ("muy buena atención", NPS, "es", "no_score", None),
    # --- fr
    ("Je dirais 8", NPS, "fr", 8, None),
    ("dix sur dix", NPS, "fr", 10, None),
    ("Neuf, très bien", NPS, "fr", 9, "très bien"),
    ("neuf", NPS, "fr", 9, None),
    ("8/10 très bien", NPS, "fr", 8, "très bien"),
    ("très bien, 9", NPS, "fr-CA", 9, "très bien"),
    ("Un produit neuf mais cassé, 3", NPS, "fr", 3, "Un produit neuf mais cassé"),
    ("Attendu 3 jours, 4", NPS, "fr", 4, "Attendu 3 jours"),
    ("Je mets 9, merci", NPS, "fr", 9, None),
    ("sept", NPS, "fr", 7, None),
    ("zéro", NPS, "fr", 0, None),
    ("cinq étoiles", CSAT, "fr", 5, None),
    ("tres bien", NPS, "fr", "no_score", None),
    ("7 ou 8", NPS, "fr", "ambiguous", None),
    ("11/10", NPS, "fr", "out_of_range", None),
    # --- de
    ("Ich würde sagen 9", NPS, "de", 9, None),
    ("Neun von zehn", NPS, "de", 9, None),
    ("neun", NPS, "de", 9, None),
    ("Zehn!", NPS, "de", 10, None),
    ("Eine glatte 10!", NPS, "de", 10, None),
    ("8, aber die Wartezeit war zu lang", NPS, "de", 8, "aber die Wartezeit war zu lang"),
    ("2 Stunden gewartet, trotzdem 7", NPS, "de", 7, "2 Stunden gewartet, trotzdem"),
    ("null Probleme, 10", NPS, "de", 10, "null Probleme"),
    ("Note 9, sehr freundlich", NPS, "de-AT", 9, "sehr freundlich"),
    ("acht", NPS, "de", 8, None),
    ("fünf Sterne", CSAT, "de", 5, None),
    ("7 oder 8", NPS, "de", "ambiguous", None),
    ("8,5", NPS, "de", "ambiguous", None),
    ("sechs", CSAT, "de", "out_of_range", None),
    # --- pt
    ("Eu daria 9", NPS, "pt", 9, None),
    ("nove", NPS, "pt-BR", 9, None),
    ("dez!", NPS, "pt", 10, None),
    ("nota 10, atendimento ótimo", NPS, "pt", 10, "atendimento ótimo"),
    ("Esperei 2 horas, nota 6", NPS, "pt", 6, "Esperei 2 horas"),
    ("Um.", NPS, "pt", 1, None),
    ("um ótimo atendimento, 9", NPS, "pt", 9, "um ótimo atendimento"),
    ("9 de 10", NPS, "pt", 9, None),
    ("Dez, muito rápido", NPS, "pt-BR", 10, "muito rápido"),
    ("três", NPS, "pt", 3, None),
    ("sete", CES, "pt", 7, None),
    ("cinco estrelas", CSAT, "pt", 5, None),
    ("oito ou nove", NPS, "pt", "ambiguous", None),
    # --- fi
    ("Sanoisin 8", NPS, "fi", 8, None),
    ("kymmenen", NPS, "fi", 10, None),
    ("yhdeksän", NPS, "fi", 9, None),
    ("Ysi", NPS, "fi", 9, None),
    ("Annan kympin", NPS, "FI", 10, None),
    ("9, nopea palvelu", NPS, "fi", 9, "nopea palvelu"),
    ("Odotin 20 minuuttia, 7", NPS, "fi", 7, "Odotin 20 minuuttia"),
    ("yhdeksän, kiitos", NPS, "fi", 9, None),
    ("kasi", NPS, "fi", 8, None),
    ("seitseman", NPS, "fi", 7, None),
    ("8/10 ihan ok", NPS, "fi", 8, "ihan ok"),
    ("kahdeksan kymmenestä", NPS, "fi", 8, None),
    ("viisi tähteä", CSAT, "fi", 5, None),
    ("7 tai 8", NPS, "fi", "ambiguous", None),
    # --- zh (Simplified)
    ("9", NPS, "zh", 9, None),
    ("九分", NPS, "zh", 9, None),
    ("十分", NPS, "zh", 10, None),
    ("十分！", NPS, "zh-CN", 10, None),
    ("十分满意", NPS, "zh", "no_score", None),
    ("十分满意，给9分", NPS, "zh", 9, "十分满意"),
    ("十分，服务很好", NPS, "zh", 10, "服务很好"),
    ("十二分满意", NPS, "zh", "no_score", None),
    ("给10分", NPS, "zh", 10, None),
    ("打十分", NPS, "zh", 10, None),
    ("我给9分，服务很好", NPS, "zh", 9, "服务很好"),
    ("8分，等太久了", NPS, "zh", 8, "等太久了"),
    ("等了20分钟，给7分", NPS, "zh", 7, "等了20分钟"),
    ("三天后才回复，给2分", NPS, "zh", 2, "三天后才回复"),
    ("满分10分，我给9分", NPS, "zh", 9, None),
    ("零分", NPS, "zh", 0, None),
    ("１０分", NPS, "zh", 10, None),
    ("五星好评", CSAT, "zh", 5, "好评"),
    ("一般", NPS, "zh", "no_score", None),
    ("7或8分", NPS, "zh", "ambiguous", None),
    ("七八分", NPS, "zh", "ambiguous", None),
    # --- zh-Hant
    ("九分，服務很好", NPS, "zh-Hant", 9, "服務很好"),
    ("十分滿意", NPS, "zh-Hant", "no_score", None),
    ("十分滿意，給9分", NPS, "zh-TW", 9, "十分滿意"),
    ("十分", NPS, "zh-Hant", 10, None),
    ("拾分", NPS, "zh-Hant", 10, None),
    ("給八分", NPS, "zh-TW", 8, None),
    ("兩分", NPS, "zh-HK", 2, None),
    ("參分", NPS, "zh-Hant", 3, None),
    ("九", NPS, "zh-Hant", 9, None),
    ("我給10分", NPS, "zh-Hant", 10, None),
    ("等了三天，給4分", NPS, "zh-Hant", 4, "等了三天"),
    ("8或9分", NPS, "zh-Hant", "ambiguous", None),
]


@pytest.mark.parametrize(("text", "scale", "locale", "expected", "comment"), ROWS)
def test_real_world_replies(
    text: str, scale: tuple[int, int], locale: str | None, expected: int | str, comment: Any
) -> None:
    parsed = parse_answer(text, scale, locale)
    if isinstance(expected, str):
        assert parsed == ParsedAnswer(None, None, expected)  # type: ignore[arg-type]
    else:
        assert (parsed.score, parsed.problem) == (expected, None)
        if comment is not ANY:
            assert parsed.comment == comment


def test_table_covers_every_locale_and_problem() -> None:
    assert len(ROWS) >= 170
    for locale in ("es", "fr", "de", "pt", "fi"):
        assert sum(1 for row in ROWS if (row[2] or "").startswith(locale)) >= 10
    assert sum(1 for row in ROWS if row[2] == "zh" or row[2] == "zh-CN") >= 10
    assert sum(1 for row in ROWS if row[2] in ("zh-Hant", "zh-TW", "zh-HK")) >= 10
    assert {row[3] for row in ROWS if isinstance(row[3], str)} == set(PROBLEMS)


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("nove", "pt-BR", 9),
        ("nove", "pt_PT", 9),
        ("kasi", "FI", 8),
        ("kasi", "fi-FI", 8),
        ("拾分", "zh_TW", 10),
        ("九分", "zh-Hans-CN", 9),
        ("nine", "xx-YY", 9),
        ("nine", "", 9),
        ("nueve", "EN", 9),  # another language's strong word still counts
    ],
)
def test_locale_tags_are_normalised_loosely(text: str, locale: str, expected: int) -> None:
    assert parse_answer(text, NPS, locale).score == expected


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("tres bien", None, None),  # French "très" typed without its accent
        ("tres", "es", 3),
        ("Um", None, None),  # English hesitation, not Portuguese 1
        ("Um", "pt", 1),
        ("Un.", None, None),
        ("Un.", "fr", 1),
        ("Sept 3rd visit was fine, 8", None, 8),  # September
        ("un produit neuf, 6", None, 6),
        ("neuf", "en", 9),  # a foreign weak word standing alone
    ],
)
def test_locale_decides_words_that_mean_something_else(
    text: str, locale: str | None, expected: int | None
) -> None:
    assert parse_answer(text, NPS, locale).score == expected


def test_parsed_answer_interface() -> None:
    parsed = parse_answer("9 - great", NPS)
    assert parsed == ParsedAnswer(score=9, comment="great", problem=None)
    assert [f.name for f in dataclasses.fields(ParsedAnswer)] == ["score", "comment", "problem"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.score = 1  # type: ignore[misc]
    assert not hasattr(parsed, "__dict__")


def test_comment_keeps_the_original_text() -> None:
    assert parse_answer("9 — Ｇｒｅａｔ ＳＥＲＶＩＣＥ", NPS).comment == "Ｇｒｅａｔ ＳＥＲＶＩＣＥ"
    assert parse_answer("9️⃣ Café NICE", NPS).comment == "Café NICE"
    decomposed = "9, palvelu oli nopea ja ha\u0308mmentävän hyvä"
    assert parse_answer(decomposed, NPS, "fi").comment == decomposed[3:]


@pytest.mark.parametrize(
    ("text", "scale", "problem"),
    [
        ("", NPS, "empty"),
        (" \u200b ", NPS, "empty"),
        ("great", NPS, "no_score"),
        ("😍", NPS, "no_score"),
        ("12", NPS, "out_of_range"),
        ("-3", NPS, "out_of_range"),
        ("0", CSAT, "out_of_range"),
        ("6", CSAT, "out_of_range"),
        ("8.5", NPS, "ambiguous"),
        ("9,5/10", NPS, "ambiguous"),
        ("3/5", NPS, "ambiguous"),
        ("6 or 7", NPS, "ambiguous"),
    ],
)
def test_problem_codes(text: str, scale: tuple[int, int], problem: str) -> None:
    assert parse_answer(text, scale) == ParsedAnswer(None, None, problem)  # type: ignore[arg-type]
