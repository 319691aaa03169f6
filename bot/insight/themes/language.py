"""A cheap guess of a comment's language when its locale is unknown (imported responses)."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

from bot.insight.themes.text import (
    CHINESE,
    GUESSED,
    alphabetic_tokens,
    fold,
    is_chinese,
    stop_words,
)

# Letters that point to some of the guessed languages; a hint, weighed per letter of the text.
_LETTERS = {"fi": "äöå", "de": "äöüß", "es": "ñ¿¡áíóú", "fr": "àâçèêëîïôùûœé", "pt": "ãõçáâêíóôú"}
_LETTER_WEIGHT = 1.5


def guess_language(text: str) -> str | None:
    """The language a comment is most likely in: "zh", one of GUESSED, or None without words.

    Chinese characters decide at once. Otherwise each language scores its stop words in the
    text (a word that is a stop word in k of the languages counts 1/k), its letters, and the
    share of the words its lemmatiser knows; on the labelled set this picks the right one for
    about 19 comments in 20. The lemmatisers' dictionaries load on the first guess (seconds).
    """
    if is_chinese(text):
        return CHINESE
    tokens = alphabetic_tokens(text, None)
    if not tokens:
        return None
    lowered = text.lower()
    shared = _stop_word_languages()
    best, best_score = GUESSED[0], -1.0
    for language in GUESSED:
        stops = stop_words(language)
        score = 0.0
        for token in tokens:
            folded = fold(token, language)
            if folded in stops:
                score += 1 / shared[folded]
        letters = _LETTERS.get(language, "")
        score += _LETTER_WEIGHT * sum(c in letters for c in lowered) / len(tokens)
        score += sum(_known(token, language) for token in tokens) / len(tokens)
        if score > best_score:
            best, best_score = language, score
    return best


@lru_cache(maxsize=1)
def _stop_word_languages() -> Counter[str]:
    """In how many of the guessed languages each stop word is one."""
    counts: Counter[str] = Counter()
    for language in GUESSED:
        counts.update(stop_words(language))
    return counts


@lru_cache(maxsize=100_000)
def _known(token: str, language: str) -> bool:
    import simplemma

    return simplemma.is_known(token, language, low_memory=True)
