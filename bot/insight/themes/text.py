"""Comment text per language: words and their lemmas, accent folding, stop words, jieba."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
import warnings
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from surveys.texts import normalize_locale

if TYPE_CHECKING:
    import jieba

CHINESE = "zh"
# The languages lemmatised with simplemma whose words a missing locale is guessed among: the
# alphabetic locales surveybot ships (surveys.texts.LOCALES).
GUESSED = ("en", "fi", "es", "fr", "de", "pt")
# Languages whose accents customers leave out without changing the word; elsewhere (Finnish
# "tämä"/"tama", Turkish, Hungarian …) marked letters are letters of their own and stay.
_MARKS_FOLDED = frozenset({"en", "es", "fr", "pt", "it", "ca", "nl", "de"})
_KEEP_MARKS = {"es": "ñ"}  # "año" is not "ano"
# German umlauts are spelt out, as Germans do without the keys: "schön" and "schoen" meet,
# "schon" stays apart.
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\uac00-\ud7af]")
# Letters and digits, with the apostrophes inside words ("didn't", "l'appli"); a hyphen splits
# ("e-mail", "mal-educado"), and a multi-word term matches the parts in order.
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_SPLIT = re.compile(r"['’]")
# English contractions whose first part is not the verb as written.
_NOT_STEMS = {"ca": "can", "wo": "will", "sha": "shall", "ai": "is"}
# Chinese tokens are punctuation and spaces too: only those with a letter or a digit are words.
_CHINESE_WORD = re.compile(r"\w")

_dictionary_lock = threading.Lock()
_jieba_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_warm: set[str] = set()


class Word(NamedTuple):
    """One word of a comment: lower-cased and folded, its dictionary form (folded), as written."""

    surface: str
    lemma: str
    written: str


def squeeze(text: str) -> str:
    """Chinese text as a keyword is looked for in it: half-width, lower-case, without spaces."""
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def language_of(locale: str | None) -> str | None:
    """The language a locale is processed in ("zh" for both Chinese scripts), None if unknown."""
    tag = normalize_locale(locale)
    if tag is None:
        return None
    return CHINESE if tag.startswith("zh") else tag


def is_chinese(text: str) -> bool:
    """Whether the text is written in Chinese characters (Japanese and Korean kana aside)."""
    return bool(_HAN.search(text)) and not _KANA_HANGUL.search(text)


def fold(word: str, language: str) -> str:
    """A lower-cased word with the accents its language can do without taken off.

    Customers often type without accents ("rapido", "eternite"), so matching compares folded
    words; letters that distinguish words in a language are kept.
    """
    word = word.lower()
    if language == "de":
        word = word.translate(_UMLAUTS)
    if language not in _MARKS_FOLDED or word.isascii():
        return word
    keep = _KEEP_MARKS.get(language, "")
    out = []
    for char in unicodedata.normalize("NFC", word):
        if char in keep:
            out.append(char)
            continue
        out.extend(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    return "".join(out)


def words(text: str, language: str | None, *, guess_chinese: bool = False) -> list[Word]:
    """The words of a text, each with its lemma, in order; `language` None: no lemmas.

    Chinese is cut into the words of jieba's dictionary, and characters it does not know stay
    one by one: its guesses of unknown words, learnt on Simplified text, glue Traditional
    characters into false words ("費太貴") that would hide a one-character keyword ("貴").
    `guess_chinese` lets jieba guess anyway, for labels that read better than single characters.
    """
    text = unicodedata.normalize("NFKC", text)
    if language == CHINESE or (language is None and is_chinese(text)):
        tokens = chinese_tokenizer().cut(text, HMM=guess_chinese)
        return [Word(t.lower(), t.lower(), t.lower()) for t in tokens if _CHINESE_WORD.search(t)]
    out: list[Word] = []
    for token in alphabetic_tokens(text, language):
        out.append(Word(fold(token, language or ""), lemma(token, language), token))
    return out


def alphabetic_tokens(text: str, language: str | None) -> list[str]:
    """A text's lower-case words; English "n't" becomes "not", French elisions come apart."""
    tokens: list[str] = []
    for match in _WORD.finditer(text.lower()):
        token = match.group().replace("’", "'")
        if "'" not in token:
            tokens.append(token)
        elif language in ("en", None) and token.endswith("n't"):
            stem = token[:-3]
            tokens.extend((_NOT_STEMS.get(stem, stem), "not"))
        elif language in ("en", None):
            tokens.append(token.split("'", 1)[0])  # "support's", "I'm", "we'll"
        else:
            tokens.extend(part for part in _SPLIT.split(token) if part)  # "l'appli", "qu'on"
    return tokens


def lemma(token: str, language: str | None) -> str:
    """The folded dictionary form of a lower-case word (the word itself if unknown)."""
    if language is None or not _has_dictionary(language):
        return fold(token, language or "")
    return _lemma(token, language)


@lru_cache(maxsize=200_000)
def _lemma(token: str, language: str) -> str:
    import simplemma

    found = simplemma.lemmatize(token, language, low_memory=True)
    if language == "fi" and found == token and len(token) >= 7 and token.endswith("sti"):
        # simplemma has no Finnish adverbs; one is built on its adjective's genitive stem
        # ("hitaasti" on "hitaan", of "hidas"), which it does know.
        genitive = token[:-3] + "n"
        adjective = simplemma.lemmatize(genitive, language, low_memory=True)
        found = adjective if adjective != genitive else found
    return fold(found, language)


@lru_cache(maxsize=64)
def _has_dictionary(language: str) -> bool:
    from simplemma.strategies.dictionaries.dictionary_factory import SUPPORTED_LANGUAGES

    if language not in SUPPORTED_LANGUAGES:
        return False
    # The first lookup loads the language's dictionary (up to 1.5 s for Finnish); one thread
    # loads it while the others wait, instead of each loading its own copy.
    with _dictionary_lock:
        if language not in _warm:
            _lemma("a", language)
            _warm.add(language)
    return True


def chinese_tokenizer() -> jieba.Tokenizer:
    """jieba's tokenizer, built on first use without its start-up chatter."""
    global _tokenizer
    if _tokenizer is not None:
        return _tokenizer
    with _jieba_lock:
        if _tokenizer is None:
            with warnings.catch_warnings():
                # jieba 0.42's sources hold invalid escape sequences (compiling them warns) and
                # it imports pkg_resources, which newer setuptools warn about: none of it is ours.
                warnings.simplefilter("ignore")
                import jieba
            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _tokenizer = tokenizer
        return _tokenizer


@lru_cache(maxsize=32)
def stop_words(language: str) -> frozenset[str]:
    """The language's stop words (stopwords-iso), folded like words are; empty if none known."""
    import stopwordsiso

    if not stopwordsiso.has_lang(language):
        return frozenset()
    return frozenset(fold(word, language) for word in stopwordsiso.stopwords(language))
