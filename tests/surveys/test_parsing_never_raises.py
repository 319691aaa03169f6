"""The answer parser never raises: random Unicode and odd or long replies keep its invariants."""

from __future__ import annotations

import random

import pytest

from surveys.parsing import ParsedAnswer, parse_answer
from tests.surveys.answer_scales import CES, CSAT, NPS, PROBLEMS, TEN


def _random_text(rng: random.Random) -> str:
    pieces = "0123456789 ./-,:;!?%$#*abcnotez分十九一满给⭐★☆😍😡🔟٩８\ufe0f\u20e3\u0308\x00\n\t"
    length = rng.choice((0, 1, 2, 5, 20, 80, 300))
    out = []
    for _ in range(length):
        roll = rng.random()
        if roll < 0.6:
            out.append(rng.choice(pieces))
        elif roll < 0.8:
            out.append(chr(rng.randint(0, 0x2FFFF)))  # includes lone surrogates and controls
        else:
            out.append(rng.choice((" nine ", " out of ", " minutes ", "/10", " I'd say ", "十分")))
    return "".join(out)


def _check_invariants(text: str, scale: tuple[int, int], locale: str | None) -> None:
    parsed = parse_answer(text, scale, locale)
    assert isinstance(parsed, ParsedAnswer)
    assert (parsed.score is None) == (parsed.problem is not None)
    assert parsed.problem is None or parsed.problem in PROBLEMS
    if parsed.score is None:
        assert parsed.comment is None
    else:
        assert scale[0] <= parsed.score <= scale[1]
        assert parsed.comment is None or parsed.comment.strip()


def test_never_raises_on_random_unicode() -> None:
    rng = random.Random(20261123)
    for _ in range(2000):
        scale = rng.choice((NPS, CSAT, CES, TEN))
        _check_invariants(_random_text(rng), scale, rng.choice((None, "zh", "fr", "fi-FI", "x")))


@pytest.mark.parametrize(
    "text",
    [
        "\ud800",
        "\udfff9",
        "9\ud83d",
        "\x00\x01\x02 7 \x7f",
        "\u0308" * 1000,
        "9" * 5000,
        "1" + "0" * 5000 + "/10",
        "1 " * 20000,
        "nine " * 20000,
        "-" * 50000 + "5",
        "😍" * 10000,
        "a" * 100000 + " 8",
    ],
)
def test_never_raises_on_odd_or_long_text(text: str) -> None:
    for scale in (NPS, CSAT):
        for locale in (None, "fr"):
            _check_invariants(text, scale, locale)
