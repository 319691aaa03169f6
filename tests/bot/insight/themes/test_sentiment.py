"""Polarity of a comment's words, with negation, and the score/words disagreement flag."""

from __future__ import annotations

import pytest

from bot.insight.themes import disagrees, polarity
from surveys.definitions import Survey

NPS = Survey.model_validate({"key": "nps", "metric": "nps"})
CSAT = Survey.model_validate({"key": "csat", "metric": "csat"})


@pytest.mark.parametrize(
    ("survey", "score", "comment", "locale", "flagged"),
    [
        (NPS, 9, "slow and rude", "en", True),
        (NPS, 2, "slow and rude", "en", False),
        (NPS, 10, "Hidasta ja tylyä palvelua.", "fi", True),
        (NPS, 7, "slow and rude", "en", False),  # passives never disagree
        (CSAT, 1, "Great, thanks!", "en", True),
        (CSAT, 5, "Great, thanks!", "en", False),
        (CSAT, 1, "很好，谢谢！", "zh", True),
        (CSAT, 2, "Not sure yet, haven't had time to try it.", "en", False),
    ],
)
def test_a_score_and_words_that_disagree_are_flagged(
    survey: Survey, score: int, comment: str, locale: str, flagged: bool
) -> None:
    assert disagrees(survey.band(score), polarity(comment, locale)) is flagged


@pytest.mark.parametrize(
    ("comment", "locale", "expected"),
    [
        ("The service was good", "en", 1),
        ("The service was not good", "en", -1),
        ("It wasn't very helpful", "en", -1),
        ("No complaints.", "en", 1),
        ("Palvelu oli hyvä", "fi", 1),
        ("Palvelu ei ollut hyvä", "fi", -1),
        ("服务不好", "zh", -1),
        ("服务很不错", "zh", 1),
        ("客服很不耐烦", "zh", -1),
        ("非常滿意，謝謝！", "zh-Hant", 1),
        ("Ce n'est pas mal du tout", "fr", 1),
        ("Das war nicht gut", "de", -1),
        ("Não gostei, atendimento péssimo", "pt", -1),
        ("Great product but slow support", "en", 0),
        ("Would have been nice to get an email", "en", 0),
        ("I called on Monday.", "en", 0),
    ],
)
def test_polarity_reads_negations_and_mixed_comments(
    comment: str, locale: str, expected: int
) -> None:
    assert polarity(comment, locale) == expected


def test_polarity_guesses_a_missing_locale() -> None:
    assert polarity("Todella huono ja hidas palvelu", None) == -1
    assert polarity("Sehr freundlich und schnell", None) == 1


def test_a_language_without_word_lists_is_neither() -> None:
    assert polarity("Servizio pessimo", "it") == 0


@pytest.mark.parametrize("band", ["promoter", "positive"])
def test_praise_bands_disagree_only_with_complaints(band: str) -> None:
    assert [disagrees(band, p) for p in (-1, 0, 1)] == [True, False, False]


@pytest.mark.parametrize("band", ["detractor", "negative"])
def test_complaint_bands_disagree_only_with_praise(band: str) -> None:
    assert [disagrees(band, p) for p in (-1, 0, 1)] == [False, False, True]


@pytest.mark.parametrize("band", ["passive", "neutral"])
def test_middle_bands_never_disagree(band: str) -> None:
    assert [disagrees(band, p) for p in (-1, 0, 1)] == [False, False, False]
