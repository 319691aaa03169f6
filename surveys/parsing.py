"""Read a score and a comment out of a free-text survey reply: digits, number words, stars, emoji."""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from surveys import numerals as nw

Problem = Literal["empty", "no_score", "out_of_range", "ambiguous"]


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """A reply read as a score and the words that came with it.

    `problem` says why `score` is None: "empty" (blank), "no_score" (no number), "out_of_range"
    (outside the scale, or negative), "ambiguous" (two different numbers, a decimal such as "8.5",
    or a fraction of another scale such as "8/10" on 1–5, which is never rescaled).
    """

    score: int | None
    comment: str | None
    problem: Problem | None = None


@dataclass(frozen=True, slots=True)
class _Candidate:
    value: int | None  # None: a span that only frames the score, such as "满分10分"
    start: int
    end: int
    # 0 numbers, 1 weak number words, 2 faces: a tier is read only when those before it are empty,
    # so "Um, 8" is 8 and "5 😍" is 5.
    tier: int = 0
    ambiguous: bool = False


@dataclass(frozen=True, slots=True)
class _Folded:
    """The reply casefolded, NFKC-normalised and with ASCII digits, mapped back to the original."""

    raw: str
    text: str
    starts: Sequence[int]
    ends: Sequence[int]

    def original(self, a: int, b: int) -> str:
        return self.raw[self.starts[a] : self.ends[b - 1]] if a < b else ""


# Keycaps ("9️⃣") become their digit; 🔟 has no digit of its own.
_SPECIAL = {"\ufe0e": "", "\ufe0f": "", "\u20e3": "", "\U0001f51f": " 10 ", "\u2019": "'"}


def _fold(raw: str) -> _Folded:
    """Normalise a reply for matching, keeping where each character came from."""
    if raw.isascii():
        return _Folded(raw, raw.lower(), range(len(raw)), range(1, len(raw) + 1))
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    while i < len(raw):
        j = i + 1
        # Combining marks stay with their base so NFKC can compose "a" + "̈" into "ä".
        while j < len(raw) and unicodedata.category(raw[j]) in ("Mn", "Me"):
            j += 1
        if j == i + 1 and raw[i].isascii():
            piece = raw[i].lower()
        else:
            piece = unicodedata.normalize("NFKC", "".join(_SPECIAL.get(c, c) for c in raw[i:j]))
            piece = "".join(_ascii_digit(c) for c in piece).casefold()
        parts.append(piece)
        starts.extend([i] * len(piece))
        ends.extend([j] * len(piece))
        i = j
    return _Folded(raw, "".join(parts), starts, ends)


def _ascii_digit(c: str) -> str:
    value = unicodedata.decimal(c, -1)
    return str(value) if value >= 0 and not c.isascii() else c


def _is_separator(c: str) -> bool:
    category = unicodedata.category(c)
    return category[0] in "PZC" or category in ("Sm", "Sk")


class _Scan:
    """Finds score candidates; each finder claims its spans, so later finders skip them."""

    def __init__(self, text: str, scale: tuple[int, int], language: str | None) -> None:
        self.text, self.scale, self.top, self.language = text, scale, scale[1], language
        self.claimed = bytearray(len(text))
        self.found: list[_Candidate] = []

    def run(self) -> list[_Candidate]:
        for match in nw.NOISE.finditer(self.text):
            self._claim(*match.span())
        self._fractions()
        for match in nw.SCALE_RANGE.finditer(self.text):
            if int(match[1][:7]) in (0, 1, self.scale[0]) and int(match[2][:7]) == self.top:
                self._add(None, *match.span())
        for match in nw.OUT_OF.finditer(self.text):
            top = nw.read_number(match["n"])
            self._add(None, *match.span(), ambiguous=top is None or top != (self.top, False))
        self._chinese()
        self._digits()
        self._words()
        if self.top == 5:
            for match in nw.STAR_RUN.finditer(self.text):
                filled = sum(1 for c in match[0] if c in nw.FILLED_STARS)
                self._add(filled, *match.span())
            for match in nw.FACE.finditer(self.text):
                self._add(nw.FACES[match[0]], *match.span(), tier=2)
        return self.found

    def _claim(self, a: int, b: int) -> None:
        self.claimed[a:b] = b"\x01" * (b - a)

    def _add(
        self, value: int | None, a: int, b: int, tier: int = 0, ambiguous: bool = False
    ) -> None:
        if self.claimed.find(1, a, b) == -1:
            self._claim(a, b)
            self.found.append(_Candidate(value, a, b, tier, ambiguous))

    def _fractions(self) -> None:
        for match in nw.FRACTION.finditer(self.text):
            x = nw.read_number(match["x"] or match["fx"])
            top = (
                nw.read_number(match["n"])
                if match["n"]
                else (10 if match["fn"][0] == "k" else 5, False)
            )
            if x is not None and top is not None:
                mismatch = top[1] or top[0] != self.top
                self._add(x[0], *match.span(), ambiguous=x[1] or mismatch)

    def _chinese(self) -> None:
        text = self.text
        for match in nw.ZH_FULL_MARKS.finditer(text):
            top = match["n"]
            value = nw.CJK_NUMERALS[top] if top in nw.CJK_NUMERALS else int(top[:7])
            self._add(None, *match.span(), ambiguous=value != self.top)
        for match in nw.ZH_POINTS.finditer(text):
            a, b = match.span()
            first, *second = (nw.CJK_NUMERALS[c] for c in match["num"])
            # "十分满意" is "very satisfied", "十二分" "extremely": ten points only when nothing
            # but a particle follows, or a verb of giving comes before.
            if (
                first == 10
                and match[0].endswith("分")
                and (a == 0 or text[a - 1] not in "给給打评評")
            ):
                if nw.CJK_CHAR.match(text, b) and text[b] not in "吧啊呀了哦喔啦嘛呢":
                    continue
            if not second:
                self._add(first, a, b)
            elif 10 in (first, second[0]):  # 十二 is 12, 二十 is 20
                self._add(first + second[0] if first == 10 else first * 10, a, b)
            else:  # 七八分: seven or eight
                self._add(first, a, b, ambiguous=True)
        for match in nw.ZH_ALONE.finditer(text):
            self._add(nw.CJK_NUMERALS[match[0]], *match.span())

    def _unit_end(self, b: int) -> int | None:
        """Where a number's score unit ends, or None when a unit says it counts something else."""
        if nw.TIME_UNIT_AFTER[self.language].match(self.text, b):
            return None
        unit = nw.SCORE_UNIT_AFTER.match(self.text, b)
        return unit.end() if unit else b

    def _digits(self) -> None:
        text = self.text
        for match in nw.DIGITS.finditer(text):
            a, b = match.span()
            end = self._unit_end(b)
            before, after = text[a - 1 : a], text[b : b + 1]
            if (
                (before.isalnum() and not nw.CJK_CHAR.match(before))  # a code: "A12", "covid19"
                or end is None  # "20 minutes"
                or (end == b and after.isalpha() and not nw.CJK_CHAR.match(after))  # "2nd", "4k"
            ):
                self._claim(a, b)
                continue
            value, decimal = nw.read_number(match[0]) or (0, False)
            if before in ("-", "−") and (a == 1 or text[a - 2].isspace() or text[a - 2] in "(["):
                self._add(-value, a - 1, end)
            else:
                self._add(value, a, end, ambiguous=decimal)

    def _words(self) -> None:
        for match in nw.WORDS.finditer(self.text):
            word, (a, b) = match[0], match.span()
            values = nw.WORD_LANGUAGES[word]
            if self.language in values:
                value, weak = values[self.language], word in nw.WEAK_WORDS[self.language]
            else:  # another language's word, or the language is unknown
                value = next(iter(values.values()))
                weak = self.language is not None or word in nw.CROSS_LANGUAGE_WEAK
                weak = weak or any(word in nw.WEAK_WORDS[lang] for lang in values)
            end = self._unit_end(b)
            if weak and self.language not in values and word in nw.FILLER_WORDS:
                continue  # "Um" alone is English hesitation before it is Portuguese 1
            if end is None:
                self._claim(a, b)
            elif end > b or not weak:
                self._add(value, a, end)
            elif nw.ALONE_AFTER.match(self.text, b):
                # A weak word counts only first in the reply and followed by punctuation.
                start, stop = _trim(self.text, 0, a, before_score=True, after_score=False)
                if stop - start < 40 and _only_filler(self.text[start:stop]):
                    self._add(value, a, b, tier=1)


def _trim(text: str, a: int, b: int, *, before_score: bool, after_score: bool) -> tuple[int, int]:
    """Narrow text[a:b] past separators and the filler phrases that touch a score."""
    while True:
        start, end = a, b
        while a < b and _is_separator(text[a]):
            a += 1
        while b > a and _is_separator(text[b - 1]):
            b -= 1
        if before_score:  # "I'd say" in "I'd say 8"
            b -= _filler_length(text, a, b, at_end=True)
        if after_score:  # "thx" in "10 thx"
            a += _filler_length(text, a, b, at_end=False)
        if (a, b) == (start, end):
            return a, b


def _filler_length(text: str, a: int, b: int, *, at_end: bool) -> int:
    """The length of the filler phrase at the end (or start) of text[a:b], else 0."""
    edge = text[b - 1 : b] if at_end else text[a : a + 1]
    for phrase in (_LEAD_BY_LAST if at_end else _TRAIL_BY_FIRST).get(edge, ()):
        x, y = (b - len(phrase), b) if at_end else (a, a + len(phrase))
        neighbour = (text[x - 1 : x] if x > a else "") if at_end else text[y:b][:1]
        # A Latin phrase must not end inside a word; CJK has no spaces to look for.
        if (
            x >= a
            and text[x:y] == phrase
            and not (neighbour.isalnum() and not nw.CJK_CHAR.match(phrase))
        ):
            return len(phrase)
    return 0


def _by_edge(phrases: tuple[str, ...], edge: int) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for phrase in sorted(phrases, key=len, reverse=True):
        index.setdefault(phrase[edge], []).append(phrase)
    return index


_LEAD_BY_LAST = _by_edge(nw.LEAD_FILLERS, -1)
_TRAIL_BY_FIRST = _by_edge(nw.TRAIL_FILLERS, 0)
_JOINERS = ".!?;,。！？；，、"


def _only_filler(piece: str) -> bool:
    return all(token in nw.FILLER_WORDS for token in nw.TOKEN.findall(piece))


def _comment(folded: _Folded, spans: list[tuple[int, int]]) -> str | None:
    """The reply without its score spans and the separators and filler around them."""
    bounds, position = [], 0
    for a, b in sorted(spans):
        bounds.append((position, max(position, a)))
        position = max(position, b)
    bounds.append((position, len(folded.text)))
    pieces = []
    for i, (a, b) in enumerate(bounds):
        a, b = _trim(folded.text, a, b, before_score=i < len(bounds) - 1, after_score=i > 0)
        if a < b and not _only_filler(folded.text[a:b]):
            pieces.append((a, b))
    if not pieces:
        return None
    comment = folded.original(*pieces[0])
    for (_, left_end), (a, b) in itertools.pairwise(pieces):
        # Join the pieces with the punctuation the person put around the score.
        gap = folded.raw[folded.ends[left_end - 1] : folded.starts[a]]
        mark = next((c for c in gap if c in _JOINERS), " ")
        comment += (mark + " " if mark.isascii() and mark != " " else mark) + folded.original(a, b)
    return comment


def parse_answer(text: str, scale: tuple[int, int], locale: str | None = None) -> ParsedAnswer:
    """Read a reply on the inclusive `scale` (low, high); never raises, never guesses.

    Reads digits in any script ("８", "٩", "১০"), keycaps ("9️⃣", "🔟"), "x/N" and "x out of N"
    when N is the top of the scale, number words 0–10 in en, zh, es, fr, de, pt, fi (preferring
    `locale`'s language), and on 1–5 scales filled stars ("★★★☆☆" is 3) and faces
    (😡😠 1, 🙁😞 2, 😐 3, 🙂😊 4, 😍🤩 5; a number beats a face). Numbers that count something
    else ("20 minutes", "3 días", "等了20分钟"), times, money, ids and dates are ignored; so are
    weak number words ("one of", "un produit", "zero issues") unless they stand alone.
    """
    folded = _fold(text)
    if not folded.text.strip(" \t\n\r\f\v\u200b\u200c\u200d\u2060\ufeff\u00a0"):
        return ParsedAnswer(None, None, "empty")
    candidates = _Scan(folded.text, scale, nw.language_of(locale)).run()
    for tier in (0, 1, 2):
        chosen = [c for c in candidates if c.tier == tier]
        values = {c.value for c in chosen if c.value is not None}
        if values:
            break
    else:
        return ParsedAnswer(None, None, "no_score")
    if len(values) > 1 or any(c.ambiguous for c in chosen):
        return ParsedAnswer(None, None, "ambiguous")
    (score,) = values
    if not scale[0] <= score <= scale[1]:
        return ParsedAnswer(None, None, "out_of_range")
    return ParsedAnswer(score, _comment(folded, [(c.start, c.end) for c in chosen]))
