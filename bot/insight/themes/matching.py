"""A survey's themes compiled for matching: which named themes a comment is about."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.insight.themes.language import guess_language
from bot.insight.themes.terms import Phrase, Vocabulary
from bot.insight.themes.text import CHINESE, language_of, squeeze, words

if TYPE_CHECKING:
    from surveys.definitions import Survey

ENGINE_VERSION = "themes-1"
"""Changes whenever the same definitions may assign different themes (it is part of `version`)."""

Definitions = Mapping[str, Sequence[str] | Mapping[str, Sequence[str]]]
ANY_LANGUAGE = ""


@dataclass(frozen=True, slots=True)
class _Compiled:
    vocabulary: Vocabulary
    themes: tuple[tuple[str, tuple[Phrase, ...]], ...]


class ThemeBook:
    """A survey's named themes, matched on word forms in the comment's language.

    A theme's terms for a locale apply to comments in that language (both Chinese scripts share
    theirs); a plain list applies to every language. A theme with no terms for a comment's
    language falls back to all of its terms, so an English-only book still finds "bug" in
    another language. Compiled per language on first use; safe to share between threads.
    """

    __slots__ = ("_compiled", "_lock", "_terms", "names", "version")

    def __init__(self, definitions: Definitions) -> None:
        self.names: tuple[str, ...] = tuple(definitions)
        self._terms: dict[str, dict[str, tuple[str, ...]]] = {}
        for name, given in definitions.items():
            if isinstance(given, Mapping):
                per = {loc: tuple(terms) for loc, terms in given.items()}
            else:
                per = {ANY_LANGUAGE: tuple(given)}
            self._terms[name] = per
        canonical = json.dumps(
            [ENGINE_VERSION, [[name, sorted(per.items())] for name, per in self._terms.items()]],
            ensure_ascii=False,
        )
        self.version: str = hashlib.sha256(canonical.encode()).hexdigest()[:12]
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_survey(cls, survey: Survey) -> ThemeBook:
        """The survey's themes (an empty book if it names none)."""
        return cls(survey.themes)

    def __bool__(self) -> bool:
        return bool(self.names)

    def __repr__(self) -> str:
        return f"ThemeBook(names={self.names!r}, version={self.version!r})"

    def assign(self, text: str, locale: str | None) -> tuple[str, ...]:
        """The themes a comment is about, sorted by name; () for none.

        `locale` None (or one that is not a language tag): the language is guessed from the text.
        """
        if not self.names or not text.strip():
            return ()
        language = language_of(locale) or guess_language(text)
        if language is None:
            return ()
        compiled = self._compile(language)
        comment = words(text, language)
        hits = [compiled.vocabulary.hits(word) for word in comment]
        raw = squeeze(text) if language == CHINESE else ""
        found = [
            name
            for name, phrases in compiled.themes
            if any(phrase.span(hits, raw) is not None for phrase in phrases)
        ]
        return tuple(sorted(found))

    def _compile(self, language: str) -> _Compiled:
        compiled = self._compiled.get(language)
        if compiled is not None:
            return compiled
        with self._lock:
            compiled = self._compiled.get(language)
            if compiled is None:
                compiled = self._compiled[language] = self._build(language)
        return compiled

    def _build(self, language: str) -> _Compiled:
        vocabulary = Vocabulary(language)
        themes = []
        for name, per in self._terms.items():
            terms = [t for loc, ts in per.items() if _applies(loc, language) for t in ts]
            if not terms:
                terms = [t for ts in per.values() for t in ts]
            phrases = tuple(Phrase.compile(term, vocabulary) for term in dict.fromkeys(terms))
            themes.append((name, phrases))
        return _Compiled(vocabulary, tuple(themes))


def _applies(locale: str, language: str) -> bool:
    return locale == ANY_LANGUAGE or language_of(locale) == language
