"""Tests of intent detection: carrier keywords, stop requests, skips, and replies that are neither."""

from __future__ import annotations

import random

import pytest

from surveys.keywords import Intent, detect_intent


@pytest.mark.parametrize(
    "text",
    [
        "STOP", "stop", " Stop. ", "STOPALL", "Unsubscribe", "CANCEL", "end", "Quit!", "REVOKE",
        "optout", "stop 🛑",
    ],
)  # fmt: skip
def test_carrier_opt_out_keywords(text: str) -> None:
    assert detect_intent(text) is Intent.OPT_OUT


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("stop please", "en"),
        ("No, stop", None),
        ("nein, stopp", "de"),
        ("Please stop", None),
        ("Stop texting me", "en"),
        ("stop sending me these stupid surveys", "en"),
        ("pls stop already", None),
        ("unsubscribe me", "en"),
        ("I want to unsubscribe", "en"),
        ("opt-out", None),
        ("no more surveys", "en"),
        ("No more messages please", None),
        ("leave me alone", "en"),
        ("remove me from this list", "en"),
        ("cancel please", "en"),
        ("para", "es"),
        ("para ya por favor", "es"),
        ("baja", "es"),
        ("darme de baja", "es"),
        ("dejen de enviar mensajes", "es-MX"),
        ("arrêter", "fr"),
        ("stop svp", "fr"),
        ("désabonner", "fr"),
        ("Désabonnez-moi", None),
        ("laissez-moi tranquille", "fr"),
        ("abmelden", "de"),
        ("bitte abmelden", "de"),
        ("Stopp", "de"),
        ("keine Nachrichten mehr", "de"),
        ("parar", "pt"),
        ("sair", "pt-BR"),
        ("quero sair", "pt"),
        ("pare de enviar mensagens", "pt"),
        ("lopeta", "fi"),
        ("lopeta jo", "fi"),
        ("poista minut", "fi"),
        ("退订", "zh"),
        ("取消订阅", None),
        ("停止", "zh"),
        ("请停止发送短信", "zh"),
        ("退訂", "zh-Hant"),
        ("不要再發了", "zh-TW"),
        ("TD", "zh"),
    ],
)
def test_short_stop_requests_opt_out(text: str, locale: str | None) -> None:
    assert detect_intent(text, locale) is Intent.OPT_OUT


@pytest.mark.parametrize("text", ["START", "start", "Yes", "YES!", "unstop"])
def test_carrier_opt_in_keywords(text: str) -> None:
    assert detect_intent(text) is Intent.OPT_IN


@pytest.mark.parametrize(
    ("text", "locale"),
    [("HELP", None), ("help", "en"), ("Info", None), ("info?", "fr"), ("ayuda", "es"),
     ("Hilfe", "de"), ("aide", "fr"), ("ajuda", "pt"), ("apua", "fi"), ("帮助", "zh")],
)  # fmt: skip
def test_help(text: str, locale: str | None) -> None:
    assert detect_intent(text, locale) is Intent.HELP


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("no", "en"),
        ("No.", None),
        ("nope", None),
        ("nah", "en"),
        ("skip", None),
        ("-", None),
        ("—", None),
        ("...", None),
        ("n/a", None),
        ("N/A", "fr"),
        ("nothing", None),
        ("Nothing else", "en"),
        ("no comment", None),
        ("no thanks", None),
        ("pass", None),
        ("nein", "de"),
        ("nein danke", "de"),
        ("nichts", "de"),
        ("non", "fr"),
        ("non merci", "fr"),
        ("rien", "fr"),
        ("não", "pt"),
        ("nao obrigado", "pt"),
        ("nada", "es"),
        ("no gracias", "es"),
        ("sin comentarios", "es"),
        ("ei", "fi"),
        ("ei kiitos", "fi"),
        ("ohita", "fi"),
        ("不用", "zh"),
        ("没有", "zh"),
        ("沒有", "zh-Hant"),
        ("不用了，谢谢", "zh"),
    ],
)
def test_skip(text: str, locale: str | None) -> None:
    assert detect_intent(text, locale) is Intent.SKIP


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("the agent would not stop interrupting me", "en"),  # a comment that mentions "stop"
        ("He wouldn't stop talking", "en"),
        ("please don't stop the weekend hours", "en"),
        ("stop the delays", "en"),
        ("cancel my order", "en"),
        ("10, stop asking", "en"),  # a score is an answer: record it
        ("9 stop", None),
        ("Stop. 0", None),
        ("para mí fue excelente", "es"),
        ("la calidad es baja", "es"),
        ("app停止运行了", "zh"),
        ("十分满意", "zh"),
        ("9", None),
        ("great service", "en"),
        ("yes please, great service", "en"),
        ("no problems at all, very quick", "en"),
        ("?", None),
        ("", None),
        ("   ", None),
        ("👍", None),
        ("stopping by was easy", "en"),
        ("para", "en"),  # not a stop word in English
        ("ei", "en"),
        ("The end of the call was rushed and nobody could stop it", "en"),
    ],
)
def test_not_an_intent(text: str, locale: str | None) -> None:
    assert detect_intent(text, locale) is None


def test_carrier_keywords_win_over_the_locale() -> None:
    for locale in (None, "en", "es", "fr", "de", "pt", "fi", "zh", "zh-Hant", "xx"):
        assert detect_intent("STOP", locale) is Intent.OPT_OUT
        assert detect_intent("START", locale) is Intent.OPT_IN
        assert detect_intent("HELP", locale) is Intent.HELP


def test_never_raises() -> None:
    rng = random.Random(7)
    alphabet = "stop STOP no 退订 停止 10 ,.-!?\u0308\x00\ud800😍 please para"
    texts = ["\ud800", "\x00", "stop " * 10000, "退订" * 5000, "a" * 100000]
    for _ in range(1500):
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))))
        texts.append("".join(chr(rng.randint(0, 0x2FFFF)) for _ in range(rng.randint(0, 20))))
    for text in texts:
        result = detect_intent(text, rng.choice((None, "en", "zh", "es-ES", "x")))
        assert result is None or isinstance(result, Intent)
