"""Whether a comment's words praise or complain, and whether that disagrees with its score."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from bot.insight.themes import lexicon
from bot.insight.themes.language import guess_language
from bot.insight.themes.terms import Phrase, Vocabulary, chinese_cores
from bot.insight.themes.text import CHINESE, Word, language_of, squeeze, words

# Negation reaches this many words ahead ("not very good", "ei ollut hyvä"), within a clause.
NEGATION_REACH = 3
POLITE_WEIGHT = 0.5
_CLAUSE = re.compile(r"[.,;:!?¡¿()\n，。！？；：、（）]+|\s[-–—]\s")
_CHINESE_NEGATIONS = frozenset("不没沒别別无無未")
# "好" before these is "quite" or "long", not "good": "好几次", "好多", "好久", "好像".
_CHINESE_NOT_GOOD = frozenset("几幾多久像些")
_SPEAK_FOR = {"promoter": -1, "positive": -1, "detractor": 1, "negative": 1}


@dataclass(frozen=True, slots=True)
class _Lexicon:
    vocabulary: Vocabulary
    weights: dict[str, float]  # single-word entries by written and dictionary form
    by_id: dict[int, float]  # the same by vocabulary id, for stems and compounds
    phrases: tuple[tuple[Phrase, float], ...]  # multi-word entries
    negators: frozenset[str]
    irrealis: frozenset[str]  # as written: their lemmas are "be" and "have"
    # Chinese entries of two characters or more, looked for in the text too (jieba may cut one
    # into a longer word: "谢谢你们").
    chinese: tuple[tuple[str, float], ...]


_lexicons: dict[str, _Lexicon] = {}
_lock = threading.Lock()


def polarity(text: str, locale: str | None) -> int:
    """-1 when words of complaint dominate, 1 when words of praise do, 0 for neither or mixed.

    A negation just before a word turns it around ("not good", "ei hyvä", "不好", "no
    complaints"); thanks count half. Languages without a word list give 0.
    """
    language = language_of(locale) or guess_language(text)
    if language not in lexicon.POSITIVE:
        return 0
    lex = _lexicon(language)
    balance = 0.0
    for clause in _CLAUSE.split(text):
        balance += _clause_balance(clause, language, lex)
    return (balance > 0) - (balance < 0)


def disagrees(band: str, polarity: int) -> bool:
    """Whether a score's band and its comment's polarity contradict each other.

    True for a promoter or positive score with a complaining comment, and for a detractor or
    negative score with a praising one; passive and neutral scores never disagree.
    """
    return polarity != 0 and _SPEAK_FOR.get(band) == polarity


def _clause_balance(clause: str, language: str, lex: _Lexicon) -> float:
    comment = words(clause, language)
    if not comment:
        return 0.0
    hits = [lex.vocabulary.hits(word) for word in comment]
    used = [False] * len(comment)
    balance = 0.0
    raw = squeeze(clause) if language == CHINESE else ""
    wishful = any(word.surface in lex.irrealis for word in comment)
    for phrase, weight in lex.phrases:
        span = phrase.span(hits, raw)
        if span is None:
            continue
        start, end = span
        for position in range(start, end):
            used[position] = True
        balance += _signed(weight, _negated(comment, used, start, lex), wishful)
    counted: list[str] = []
    for position, word in enumerate(comment):
        if used[position]:
            continue
        weight, inner = _weight(comment, position, hits[position], language, lex)
        if weight:
            counted.append(word.surface)
            balance += _signed(weight, inner != _negated(comment, used, position, lex), wishful)
    for entry, weight in lex.chinese:
        at = raw.find(entry)
        if at >= 0 and not any(entry in token for token in counted):
            negated = at > 0 and raw[at - 1] in _CHINESE_NEGATIONS
            balance += _signed(weight, negated, wishful)
    return balance


def _signed(weight: float, negated: bool, wishful: bool) -> float:
    if negated:
        weight = -weight
    return 0.0 if wishful and weight > 0 else weight


def _weight(
    comment: list[Word], position: int, hits: frozenset[int], language: str, lex: _Lexicon
) -> tuple[float, bool]:
    """A word's signed weight, and whether a negation inside it turns it ("不好", "没礼貌" not)."""
    word = comment[position]
    if word.surface == "好" and position + 1 < len(comment):
        if comment[position + 1].surface[0] in _CHINESE_NOT_GOOD:
            return 0.0, False
    for form in (word.surface, word.lemma):
        if form in lex.weights:
            return lex.weights[form], False
    if language == CHINESE:
        for core in chinese_cores(word.surface):
            if core in lex.weights:
                before = word.surface[: word.surface.find(core)]
                return lex.weights[core], any(c in _CHINESE_NEGATIONS for c in before)
        return 0.0, False
    signs = {lex.by_id[wid] for wid in hits if wid in lex.by_id}
    if len(signs) == 1:
        return signs.pop(), False
    return 0.0, False  # no entry, or praise and complaint at once: say nothing


def _negated(comment: list[Word], used: list[bool], position: int, lex: _Lexicon) -> bool:
    for before in range(max(0, position - NEGATION_REACH), position):
        word = comment[before]
        if used[before]:
            continue
        if word.surface in lex.negators or word.lemma in lex.negators:
            return True
        # Chinese negations lead a word: "没有", "没什么", "不是", "沒修".
        if word.surface[0] in _CHINESE_NEGATIONS and lex.vocabulary.language == CHINESE:
            return True
    return False


def _lexicon(language: str) -> _Lexicon:
    lex = _lexicons.get(language)
    if lex is None:
        with _lock:
            lex = _lexicons.get(language)
            if lex is None:
                lex = _lexicons[language] = _build(language)
    return lex


def _build(language: str) -> _Lexicon:
    vocabulary = Vocabulary(language)
    weights: dict[str, float] = {}
    by_id: dict[int, float] = {}
    phrases: list[tuple[Phrase, float]] = []
    for listed, weight in (
        (lexicon.POSITIVE, 1.0),
        (lexicon.NEGATIVE, -1.0),
        (lexicon.POLITE, POLITE_WEIGHT),
    ):
        for entry in lexicon.entries(listed.get(language, "")):
            entry_words = words(entry, language)
            if len(entry_words) > 1:
                phrases.append((Phrase.compile(entry, vocabulary), weight))
                continue
            for word in entry_words:
                by_id[vocabulary.add(word)] = weight
                for form in (word.surface, word.lemma):
                    weights.setdefault(form, weight)
    chinese = tuple(
        (entry, weight)
        for entry, weight in weights.items()
        if language == CHINESE and len(entry) > 1
    )
    return _Lexicon(
        vocabulary,
        weights,
        by_id,
        tuple(phrases),
        _forms(lexicon.NEGATORS[language], language, lemmas=True),
        _forms(lexicon.IRREALIS[language], language, lemmas=False),
        chinese,
    )


def _forms(listed: str, language: str, *, lemmas: bool) -> frozenset[str]:
    """The (folded) written forms of a list's words, and their dictionary forms if `lemmas`."""
    found = [w for entry in lexicon.entries(listed) for w in words(entry, language)]
    return frozenset({w.surface for w in found} | ({w.lemma for w in found} if lemmas else set()))
