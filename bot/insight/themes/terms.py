"""Compiled terms: which words of a comment a keyword matches, and where a phrase occurs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.insight.themes.text import CHINESE, Word, squeeze, words

# Characters around a Chinese word that do not change what it is about: degree adverbs,
# negation, aspect particles, result complements ("很慢", "太贵", "卡死", "不耐烦" around
# "慢", "贵", "卡", "耐烦"). A keyword matches a token made of itself and these only.
CHINESE_AFFIXES = frozenset("很太超好真挺蛮更最又老特非常不没沒别別了过過着著死住掉完得就也都还還")
# How many letters of a long lemma may differ at its end and still match: Finnish stems change
# more ("odottaa" → "odotin", "korjata" → "korjattu") than the others.
_STEM_CUT = {"fi": 2}
# Compounds put the head last ("Rückerstattung", "odotusaika"): a keyword may end a word there.
_HEAD_FINAL = frozenset({"de", "fi", "nl", "sv", "da", "no", "et"})
_MIN_STEM = 5
_SHORT_EXTRA = 2
MAX_GAP = 2
"""How many other words may come between the words of a multi-word term ("took way too long")."""


@dataclass(slots=True)
class Vocabulary:
    """The words of some terms in one language, indexed so a comment word finds its matches fast.

    Each distinct term word gets an id; `hits(word)` is the set of ids a comment word matches:
    same lemma or same written form; a long word's stem starting it ("korja" in "korjattu"); a
    short word with up to two more letters ("bug" → "bugge"); a compound's last part.
    """

    language: str
    _ids: dict[tuple[str, str], int] = field(default_factory=dict)
    _exact: dict[str, set[int]] = field(default_factory=dict)
    _stems: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    _short: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    _heads: list[tuple[str, int]] = field(default_factory=list)

    def add(self, word: Word) -> int:
        """The id of a term word, adding it if new."""
        key = (word.surface, word.lemma)
        if key in self._ids:
            return self._ids[key]
        wid = self._ids[key] = len(self._ids)
        for form in {word.surface, word.lemma}:
            self._exact.setdefault(form, set()).add(wid)
        if self.language == CHINESE:
            return wid
        lemma = word.lemma
        if len(lemma) >= _MIN_STEM:
            stem = lemma[: max(_MIN_STEM, len(lemma) - _STEM_CUT.get(self.language, 1))]
            for variant in {stem, _umlauted(stem) if self.language == "de" else stem}:
                self._stems.setdefault(variant[:3], []).append((variant, wid))
            if self.language in _HEAD_FINAL:
                self._heads.append((lemma, wid))
        elif len(lemma) >= 3 and self.language != "en":
            self._short.setdefault(lemma[:3], []).append((lemma, wid))
        return wid

    def hits(self, word: Word) -> frozenset[int]:
        """The ids of the term words that `word` (a comment's) matches."""
        found: set[int] = set()
        for form in self._forms(word):
            found |= self._exact.get(form, set())
        if self.language == CHINESE:
            return frozenset(found)
        for form in {word.surface, word.lemma}:
            for stem, wid in self._stems.get(form[:3], ()):
                if form.startswith(stem):
                    found.add(wid)
        for short, wid in self._short.get(word.lemma[:3], ()):
            if word.lemma.startswith(short) and len(word.lemma) - len(short) <= _SHORT_EXTRA:
                found.add(wid)
        for head, wid in self._heads:
            if len(word.lemma) >= len(head) + 3 and word.lemma.endswith(head):
                found.add(wid)
        return frozenset(found)

    def _forms(self, word: Word) -> Iterable[str]:
        yield word.surface
        if word.lemma != word.surface:
            yield word.lemma
        if self.language == CHINESE:
            yield from chinese_cores(word.surface)
        elif self.language == "en" and len(word.surface) > 5 and word.surface.endswith("ly"):
            # simplemma keeps adverbs as they are: "slowly", "rudely", "easily".
            base = word.surface[:-2]
            yield base[:-1] + "y" if base.endswith("i") else base


def _umlauted(stem: str) -> str:
    """A German stem with its last a, o or u umlauted as folded ("abstur" → "abstuer"), the way
    plurals and comparatives change it ("Absturz" → "Abstürze", "lang" → "länger")."""
    for at in range(len(stem) - 1, -1, -1):
        if stem[at] in "aou" and stem[at + 1 : at + 2] != "e":
            return stem[: at + 1] + "e" + stem[at + 1 :]
    return stem


def chinese_cores(token: str) -> Iterable[str]:
    """The token with the affixes around it taken off, from either end ("很不耐烦" → "不耐烦"…)."""
    start, end = 0, len(token)
    while start < end - 1 and token[start] in CHINESE_AFFIXES:
        start += 1
        yield token[start:]
    while end > start + 1 and token[end - 1] in CHINESE_AFFIXES:
        end -= 1
        yield token[start:end]
    if 0 < start < end < len(token):
        yield token[start:end]


@dataclass(frozen=True, slots=True)
class Phrase:
    """A term compiled against a Vocabulary: its word ids in order, and (Chinese) its text."""

    text: str
    ids: tuple[int, ...]

    @classmethod
    def compile(cls, text: str, vocabulary: Vocabulary) -> Phrase:
        language = vocabulary.language
        ids = tuple(vocabulary.add(word) for word in words(text, language))
        return cls(squeeze(text) if language == CHINESE else "", ids)

    def span(self, hits: Sequence[frozenset[int]], text: str = "") -> tuple[int, int] | None:
        """Where the phrase first occurs among a comment's word hits: (start, end), or None.

        A Chinese term of two or more characters also matches anywhere in the raw text (no
        inflection, and a longer string is specific), since jieba may cut it differently; that
        match has no words to point at: (0, 0).
        """
        if not self.ids:
            return None
        first, rest = self.ids[0], self.ids[1:]
        for start, found in enumerate(hits):
            if first in found:
                end = _follows(rest, hits, start)
                if end is not None:
                    return start, end
        if len(self.text) >= 2 and self.text in text:
            return 0, 0
        return None


def _follows(ids: tuple[int, ...], hits: Sequence[frozenset[int]], last: int) -> int | None:
    """The end of the rest of a phrase after position `last`, with at most MAX_GAP words between."""
    if not ids:
        return last + 1
    for position in range(last + 1, min(len(hits), last + 2 + MAX_GAP)):
        if ids[0] in hits[position]:
            end = _follows(ids[1:], hits, position)
            if end is not None:
                return end
    return None
