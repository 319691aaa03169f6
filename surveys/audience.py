"""Audience filters: a small boolean language over contact properties, parsed once, run per contact.

Grammar (keywords are case-insensitive)::

    expr       := term (OR term)*
    term       := factor (AND factor)*
    factor     := NOT factor | "(" expr ")" | comparison
    comparison := name op value | name [NOT] IN "(" value ("," value)* ")" | name IS [NOT] SET
    op         := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="

Names match ``[A-Za-z_][A-Za-z0-9_.-]*`` and are looked up exactly as written; the keywords (AND,
OR, NOT, IN, IS, SET) cannot be names. Values are bare words (``pro``, ``EU``, ``2026-01-31``,
``3.5``) or quoted strings ('…' or "…", where a backslash escapes the next character). Quoting
only decides where a value ends; a bare AND or OR is never a value (quote it).

Semantics:

- ``=`` and IN compare stripped, case-insensitive strings, except that when both sides parse as
  numbers they compare as numbers (``10 = 10.0``). ``<``, ``<=``, ``>``, ``>=`` compare numbers
  numerically and anything else as strings, so ISO dates order correctly.
- A bool property compares as "true"/"false", a date or datetime as its ISO form, and a list
  property matches when any of its elements does.
- A missing property (absent, null, blank, or an empty list) makes ``=``, IN and the orderings
  false. ``!=`` and NOT IN are exactly their negations, so they are true for it. IS SET is true
  when the property is present and not blank.
- The empty filter, ``all`` and ``*`` match everyone.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

MAX_LENGTH = 2000
MAX_DEPTH = 20

_TOKEN = re.compile(
    r"""\s*(?:(?P<punct>[(),])|(?P<op>[=!<>]+)|(?P<word>[A-Za-z0-9_.@:+/-]+)"""
    r"""|(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<bad>\S))""",
    re.DOTALL,
)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?")  # on casefolded text
_NUMBER_START = frozenset("0123456789+-.")
_ORDERINGS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_OPERATORS = frozenset({"=", "!=", "<>", *_ORDERINGS})
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "set"})
_EVERYONE = frozenset({"", "all", "*"})
_SEQUENCES = (list, tuple, set, frozenset)

Number = int | float
_Test = Callable[[Mapping[str, Any]], bool]
_Check = Callable[[str, Any], bool]  # (normalised text, raw value) of one non-missing scalar


class AudienceError(ValueError):
    """Raised when an audience filter does not parse; the message names the 1-based position."""


@dataclass(frozen=True, slots=True)
class Audience:
    """A parsed audience filter; constructing one parses `source` and may raise AudienceError."""

    source: str
    _test: _Test | None = field(init=False, repr=False, compare=False)
    _names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.source) > MAX_LENGTH:
            raise AudienceError(f"longer than {MAX_LENGTH} characters at position {MAX_LENGTH + 1}")
        parser = None if self.source.strip().casefold() in _EVERYONE else _Parser(self.source)
        object.__setattr__(self, "_test", None if parser is None else parser.parse())
        object.__setattr__(self, "_names", frozenset(parser.names if parser else ()))

    def matches(self, properties: Mapping[str, Any]) -> bool:
        return self._test is None or self._test(properties)

    def names(self) -> frozenset[str]:
        """The property names the filter refers to."""
        return self._names

    @property
    def everyone(self) -> bool:
        return self._test is None


def parse_audience(text: str | None) -> Audience:
    """Parse a filter; None, blank, "all" and "*" give the audience of everyone."""
    return Audience("" if text is None else text)


def _number(text: str) -> Number | None:
    # Most property values are words: skip the regex unless the text could be a number.
    if not text or text[0] not in _NUMBER_START or not _NUMBER.fullmatch(text):
        return None
    return float(text) if "." in text or "e" in text else int(text)


def _text(value: Any) -> str:
    """A scalar property value as stripped, casefolded text; "" when missing."""
    if isinstance(value, str):
        return value.strip().casefold()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat().casefold()
    return str(value).strip().casefold()


def _numeric(value: Any, text: str) -> Number | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return _number(text)


def _any(name: str, check: _Check) -> _Test:
    """The property passes `check`, or for a list any element does; missing is False."""

    def test(properties: Mapping[str, Any]) -> bool:
        value = properties.get(name)
        if isinstance(value, _SEQUENCES):
            return any(check(text, item) for item in value if (text := _text(item)))
        text = _text(value)
        return bool(text) and check(text, value)

    return test


def _member(literals: list[str]) -> _Check:
    """Equality with any literal; the literals are normalised already."""
    texts = frozenset(text for text in literals if _number(text) is None)
    numbers = frozenset(number for text in literals if (number := _number(text)) is not None)
    if not numbers:
        return lambda text, value: text in texts
    # A numeric literal's text is a number, so only a numeric property can equal it.
    return lambda text, value: text in texts or _numeric(value, text) in numbers


def _ordered(compare: Callable[[Any, Any], bool], literal: str) -> _Check:
    number = _number(literal)
    if number is None:
        return lambda text, value: compare(text, literal)

    def check(text: str, value: Any) -> bool:
        mine = _numeric(value, text)
        return compare(text, literal) if mine is None else compare(mine, number)

    return check


def _negate(inner: _Test) -> _Test:
    return lambda properties: not inner(properties)


def _join(parts: list[_Test], combine: Callable[[Any], bool]) -> _Test:
    if len(parts) == 1:
        return parts[0]
    return lambda properties: combine(part(properties) for part in parts)


class _Token(NamedTuple):
    kind: str  # "word", "string", "op", "(", ")", "," or "end"
    text: str
    position: int  # 1-based


def _tokenize(source: str) -> list[_Token]:
    tokens = []
    # Every character but trailing space matches a group, so finditer skips nothing silently.
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup or ""
        text, position = match[kind], match.start(kind) + 1
        if kind == "bad" and text in "'\"":
            raise AudienceError(f"unterminated string starting at position {position}")
        if kind == "bad":
            raise AudienceError(f"unexpected character {text!r} at position {position}")
        if kind == "op" and text not in _OPERATORS:
            raise AudienceError(f"unknown operator {text!r} at position {position}")
        if kind == "string":
            text = _ESCAPE.sub(r"\1", text[1:-1])
        tokens.append(_Token(text if kind == "punct" else kind, text, position))
    tokens.append(_Token("end", "", len(source.rstrip()) + 1))
    return tokens


class _Parser:
    """Recursive descent over the tokens, building closures as it goes."""

    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.index = 0
        self.depth = 0
        self.names: set[str] = set()

    def parse(self) -> _Test:
        test = _join(self.repeated("or", self.term), any)
        token = self.tokens[self.index]
        if token.kind == ")":
            raise AudienceError(
                f"unbalanced parentheses: ')' at position {token.position} has no matching '('"
            )
        if token.kind != "end":
            raise self.expected("AND, OR or the end of the filter")
        return test

    def repeated(self, keyword: str, parse: Callable[[], _Test]) -> list[_Test]:
        parts = [parse()]
        while self.keyword(keyword):
            parts.append(parse())
        return parts

    def term(self) -> _Test:
        return _join(self.repeated("and", self.factor), all)

    def factor(self) -> _Test:
        token = self.tokens[self.index]
        if token.kind != "(" and not self.keyword("not"):
            return self.comparison()
        # Bounds the recursion, so a hostile filter cannot exhaust the stack.
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise AudienceError(f"nested more than {MAX_DEPTH} deep at position {token.position}")
        if token.kind == "(":
            self.index += 1
            test = _join(self.repeated("or", self.term), any)
            self.close(token, "AND, OR or ')'")
        else:
            test = _negate(self.factor())
        self.depth -= 1
        return test

    def comparison(self) -> _Test:
        token = self.tokens[self.index]
        if token.kind != "word" or token.text.casefold() in _KEYWORDS:
            raise self.expected("a property name")
        if not _NAME.fullmatch(token.text):
            raise AudienceError(
                f"{token.text!r} at position {token.position} is not a property name"
            )
        self.index += 1
        name, following = token.text, self.tokens[self.index]
        self.names.add(name)
        if following.kind == "op":
            self.index += 1
            literal = self.value()
            if following.text in _ORDERINGS:
                return _any(name, _ordered(_ORDERINGS[following.text], literal))
            equal = _any(name, _member([literal]))
            return equal if following.text == "=" else _negate(equal)
        if self.keyword("in"):
            return _any(name, _member(self.values()))
        if self.keyword("not"):
            if not self.keyword("in"):
                raise self.expected("IN")
            return _negate(_any(name, _member(self.values())))
        if self.keyword("is"):
            negated = self.keyword("not")
            if not self.keyword("set"):
                raise self.expected("SET")
            present = _any(name, lambda text, value: True)
            return _negate(present) if negated else present
        if following.kind in ("word", "string"):
            raise AudienceError(
                f"unknown operator {following.text!r} at position {following.position}"
                " (use =, !=, <, <=, >, >=, IN, NOT IN, IS SET or IS NOT SET)"
            )
        raise self.expected("an operator")

    def value(self) -> str:
        """The next value, stripped and casefolded once here rather than per contact."""
        token = self.tokens[self.index]
        bare = token.kind == "word" and token.text.casefold() not in ("and", "or")
        if token.kind != "string" and not bare:
            raise self.expected("a value")
        self.index += 1
        text = token.text.strip().casefold()
        if not text:
            raise AudienceError(f"empty value at position {token.position}; use IS NOT SET")
        return text

    def values(self) -> list[str]:
        opening = self.tokens[self.index]
        if opening.kind != "(":
            raise self.expected("'(' and a list of values")
        self.index += 1
        if self.tokens[self.index].kind == ")":
            raise AudienceError(f"empty IN list at position {opening.position}")
        literals = [self.value()]
        while self.tokens[self.index].kind == ",":
            self.index += 1
            literals.append(self.value())
        self.close(opening, "',' or ')'")
        return literals

    def close(self, opening: _Token, wanted: str) -> None:
        token = self.tokens[self.index]
        if token.kind == "end":
            raise AudienceError(
                f"unbalanced parentheses: '(' at position {opening.position} is never closed"
            )
        if token.kind != ")":
            raise self.expected(wanted)
        self.index += 1

    def keyword(self, word: str) -> bool:
        token = self.tokens[self.index]
        if token.kind == "word" and token.text.casefold() == word:
            self.index += 1
            return True
        return False

    def expected(self, what: str) -> AudienceError:
        token = self.tokens[self.index]
        after = f" after {self.tokens[self.index - 1].text!r}" if self.index else ""
        found = "" if token.kind == "end" else f", found {token.text!r}"
        return AudienceError(f"expected {what}{after} at position {token.position}{found}")
