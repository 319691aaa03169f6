"""Number words 0–10, units, rating emoji and filler phrases per language; patterns built on them."""

from __future__ import annotations

import re

LANGUAGES = frozenset({"en", "zh", "es", "fr", "de", "pt", "fi"})


def language_of(locale: str | None) -> str | None:
    """The built-in language a locale tag names ("pt-BR" → "pt", "zh-Hant" → "zh"), else None."""
    if not locale:
        return None
    language = re.split(r"[-_@.\s]", locale.strip().casefold(), maxsplit=1)[0]
    return language if language in LANGUAGES else None


# All forms are casefolded. Finnish keeps the genitive/accusative ("annan kympin") and the school
# grade nicknames people really type ("ysi", "kasi"); de/fi also without umlauts, as typed on SMS.
NUMBER_WORDS: dict[str, dict[str, int]] = {
    "en": {
        "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
        "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    },
    "es": {
        "cero": 0, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
        "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10,
    },
    "fr": {
        "zéro": 0, "zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5,
        "six": 6, "sept": 7, "huit": 8, "neuf": 9, "dix": 10,
    },
    "de": {
        "null": 0, "eins": 1, "zwei": 2, "zwo": 2, "drei": 3, "vier": 4, "fünf": 5, "fuenf": 5,
        "funf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
    },
    "pt": {
        "zero": 0, "um": 1, "uma": 1, "dois": 2, "duas": 2, "três": 3, "tres": 3, "quatro": 4,
        "cinco": 5, "seis": 6, "sete": 7, "oito": 8, "nove": 9, "dez": 10,
    },
    "fi": {
        "nolla": 0, "nollan": 0, "yksi": 1, "yhden": 1, "ykkönen": 1, "ykkonen": 1, "kaksi": 2,
        "kahden": 2, "kakkonen": 2, "kolme": 3, "kolmen": 3, "kolmonen": 3, "neljä": 4,
        "nelja": 4, "neljän": 4, "nelonen": 4, "viisi": 5, "viiden": 5, "vitonen": 5, "vitosen": 5,
        "kuusi": 6, "kuuden": 6, "kutonen": 6, "kutosen": 6, "seitsemän": 7, "seitseman": 7,
        "seiska": 7, "seiskan": 7, "kahdeksan": 8, "kasi": 8, "kasin": 8, "yhdeksän": 9,
        "yhdeksan": 9, "ysi": 9, "ysin": 9, "kymmenen": 10, "kymppi": 10, "kympin": 10,
    },
}  # fmt: skip


def _index_words() -> dict[str, dict[str, int]]:
    index: dict[str, dict[str, int]] = {}
    for language, words in NUMBER_WORDS.items():
        for word, value in words.items():
            index.setdefault(word, {})[language] = value
    return index


WORD_LANGUAGES = _index_words()
"""Every number word → {language: value}; "six" is both English and French."""


def read_number(token: str) -> tuple[int, bool] | None:
    """A digit string ("8", "8,5") or number word as (value, has a decimal part), else None."""
    if token[:1].isdigit():
        whole, _, fraction = token.replace(",", ".").partition(".")
        return min(int(whole[:7]), 10**6), bool(fraction)  # never int() a 5000-digit string
    values = WORD_LANGUAGES.get(token)
    return (next(iter(values.values())), False) if values else None


NUMBER_WORD_PATTERN = "|".join(sorted(map(re.escape, WORD_LANGUAGES), key=len, reverse=True))

# Number words that are more often something else: articles ("un produit", "uno de los"),
# "neuf" (new), "zero issues". They count only when they stand alone or before a score unit.
WEAK_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset({"zero", "one"}),
    "es": frozenset({"cero", "uno", "una"}),
    "fr": frozenset({"zéro", "zero", "un", "une", "neuf"}),
    "de": frozenset({"null"}),
    "pt": frozenset({"zero", "um", "uma"}),
    "fi": frozenset({"nolla"}),
}

# Number words that are ordinary words in another built-in language: English filler "um",
# French "très" typed without its accent, "Sept" (September), Finnish "käsi" (hand) without
# umlauts. Weak when the reply's language is unknown.
CROSS_LANGUAGE_WEAK = frozenset({"um", "tres", "sept", "kasi"})

CJK_NUMERALS: dict[str, int] = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "两": 2, "兩": 2, "贰": 2, "貳": 2,
    "三": 3, "叁": 3, "參": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "陸": 6,
    "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9, "十": 10, "拾": 10,
}  # fmt: skip

FILLED_STARS = "⭐★🌟"
EMPTY_STARS = "☆✩"

# Faces read on 1–5 scales only, and only when the reply holds no number: the two clearest faces
# per step, anger → heart eyes.
FACES: dict[str, int] = {
    "😡": 1, "😠": 1, "🙁": 2, "😞": 2, "😐": 3, "🙂": 4, "😊": 4, "😍": 5, "🤩": 5,
}  # fmt: skip

# A number followed by one of these counts something else ("20 minutes", "3 días"), so it is not
# a score. Regex alternations, matched right after the number and optional spaces.
TIME_UNITS: dict[str, str] = {
    "en": r"(?:min(?:ute)?s?|hours?|hrs?|days?|weeks?|wks?|months?|years?|yrs?|sec(?:ond)?s?"
    r"|times|am|pm|people|persons?|dollars?|bucks|euros?|pounds?|calls?|emails?|orders?)",
    "es": r"(?:minutos?|horas?|d[ií]as?|semanas?|mes(?:es)?|años?|segundos?|veces|vez|euros?"
    r"|pesos?|llamadas?)",
    "fr": r"(?:minutes?|heures?|h|jours?|semaines?|mois|ans?|années?|secondes?|fois|euros?"
    r"|appels?)",
    "de": r"(?:minuten?|min|stunden?|std|tage?n?|wochen?|monate?n?|jahren?|jahre?|sekunden?|mal"
    r"|euro|anrufe?)",
    "pt": r"(?:minutos?|horas?|dias?|semanas?|m[eê]s(?:es)?|anos?|segundos?|vez(?:es)?|reais"
    r"|euros?|liga[cç](?:ão|ões|ao|oes))",
    "fi": r"(?:minuu\w*|tun(?:ti|nin|tia|nissa)\w*|päiv\w*|paiv\w*|viik\w*|kuukau\w*|vuo(?:si|tta"
    r"|den)\w*|sekun\w*|kerta\w*|euro\w*)",
}


def _time_units(language: str | None) -> str:
    """The time units of a language and English, or of every language when it is unknown."""
    languages = {language, "en"} & set(TIME_UNITS) if language else set(TIME_UNITS)
    return "|".join(TIME_UNITS[lang] for lang in sorted(languages))


CJK_TIME_UNITS = r"(?:分钟|分鐘|小时|小時|钟头|鐘頭|天|日|周|週|星期|个|個|次|年|月|号|號|点|點|元|块|塊|岁|歲|秒|人|遍|位|通)"

# Units that belong to the score: "5 stars", "8 points", "4⭐", "4*", "9分", "五星".
SCORE_UNITS = (
    r"(?:stars?|points?|pts?|estrellas?|puntos?|étoiles?|etoiles?|sterne?n?|punkte?|estrelas?"
    r"|pontos?|tähte\w*|tahte\w*|tähti|pist\w*)"
)
CJK_SCORE_UNITS = r"(?:分(?![钟鐘之钱錢熟])|[颗顆]?星)"

# Phrases people put before a score ("I'd say 8", "le doy un 9", "我给9分"): removed from the
# comment when they touch the score.
LEAD_FILLERS: tuple[str, ...] = (
    # en
    "i'd say", "id say", "i would say", "i'll say", "i say", "i'd give it", "i'd give",
    "i would give it", "i would give", "i give it", "i give", "i'll give it", "give it", "i'd rate it",
    "i rate it", "rate it", "i'd go with", "i'll go with", "go with", "it's a", "its a", "it's",
    "that's a", "thats a", "it would be", "would be", "my rating is", "my rating", "rating",
    "my score is", "my score", "score", "i think", "i guess", "a solid", "solid", "a strong",
    "strong", "an easy", "easy", "a firm", "firm", "a", "an", "maybe", "probably", "prob",
    "definitely", "defo", "def", "honestly", "tbh", "about", "around", "hmm", "umm", "um", "uh",
    "at least", "on a scale of", "on a scale from", "on a scale",
    # es
    "yo diría que", "diría que", "diria que", "yo diría", "diría", "diria", "le doy un", "le doy",
    "le daría", "le daria", "doy", "creo que", "quizás", "quizas", "tal vez", "mi nota", "nota",
    "calificación", "puntuación", "pues", "un", "una", "en una escala de", "en una escala del",
    # fr
    "je dirais", "je mettrais", "je mets", "je donne", "je donnerais", "j'ai mis", "disons",
    "ma note", "note", "peut-être", "peut-etre", "environ", "bah", "euh", "allez",
    "franchement", "une", "sur une échelle de",
    # de
    "ich würde sagen", "ich wuerde sagen", "ich wurde sagen", "würde sagen", "ich sage",
    "ich gebe eine", "ich gebe", "ich würde eine", "ich würde", "sagen wir", "gebe", "eine glatte",
    "glatte", "eine solide", "eine", "ne", "vielleicht", "bewertung", "also", "ähm", "äh", "naja",
    "auf einer skala von",
    # pt
    "eu daria", "daria", "eu dou", "dou", "eu diria", "diria", "minha nota", "acho que",
    "eu acho", "talvez", "tipo", "um", "uma", "numa escala de", "em uma escala de",
    # fi
    "sanoisin että", "sanoisin", "annan arvosanaksi", "annan", "antaisin", "arvosanaksi",
    "arvosana", "ehkä", "ehka", "kai", "varmaan", "ehdottomasti", "tota",
    # zh, zh-Hant
    "我会给", "我會給", "我就给", "我就給", "我给", "我給", "我打", "给个", "給個", "打个", "打個",
    "给", "給", "打", "我觉得", "我覺得", "评分", "評分", "大概", "可能", "嗯",
)  # fmt: skip

# Phrases people put after a score ("9 I guess", "10 thx").
TRAIL_FILLERS: tuple[str, ...] = (
    "i guess", "i think", "maybe", "probably", "tbh", "honestly", "imo", "for sure", "thx",
    "thanks", "thank you", "ty", "cheers", "gracias", "merci", "danke", "obrigado", "obrigada",
    "kiitos", "谢谢", "謝謝", "吧", "啊", "呀",
)  # fmt: skip

# A piece of the reply made only of these words is not a comment ("ok 8", "9. yes, 9").
FILLER_WORDS = frozenset(
    word for phrase in LEAD_FILLERS + TRAIL_FILLERS for word in phrase.split()
) | frozenset({
    "yes", "yeah", "yep", "yup", "hi", "hello", "hey", "thank", "you", "and", "is", "it", "lol",
    "ok", "okay", "well", "so", "just", "bueno", "bon",
    "sí", "si", "vale", "oui", "ja", "sim", "joo", "kyllä", "kiitti", "嗯嗯", "好的", "好", "满分",
    "滿分",
})  # fmt: skip


# Patterns below match the parser's folded text: NFKC, casefolded, digits in ASCII.
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3007"
_NO_LETTER_BEFORE = r"(?<![^\W\d_])"
_NO_LETTER_AFTER = r"(?![^\W\d_])"
_NO_ALNUM_BEFORE = rf"(?<![^\W_{CJK}])"  # CJK may touch digits: "我给9分"
_NUM_OR_WORD = rf"\d+(?:[.,]\d+)?|{_NO_LETTER_BEFORE}(?:{NUMBER_WORD_PATTERN}){_NO_LETTER_AFTER}"
_UNIT = rf"{SCORE_UNITS}{_NO_LETTER_AFTER}"
_STARS = FILLED_STARS + EMPTY_STARS
_ZH = "".join(CJK_NUMERALS)
CJK_CHAR = re.compile(f"[{CJK}]")

NOISE = re.compile(
    r"\d{1,2}[:h]\d{2}(?!\d)|\b24/7\b|\d+[/.\-]\d+[/.\-]\d+"  # times, "24/7", dates
    r"|[$€£¥₹#]\s*\d+(?:[.,]\d+)?|\d+(?:[.,]\d+)?\s*[%$€£¥₹]|\d{4,}"  # money, ids, years
)
FRACTION = re.compile(
    rf"{_NO_ALNUM_BEFORE}(?P<x>{_NUM_OR_WORD})\s*(?:{_UNIT}\s*)?"
    rf"(?:/|out\s+of|outta|of|de|sobre|sur|von|aus)\s*(?P<n>{_NUM_OR_WORD})(?!\d)(?:\s*{_UNIT})?"
    rf"|{_NO_ALNUM_BEFORE}(?P<fx>{_NUM_OR_WORD})\s+(?P<fn>kymmenest[äa]|viidest[äa]){_NO_LETTER_AFTER}"
)
# "on a scale of 1-10", "out of 10, I'd say 9": the scale itself, not an answer.
SCALE_RANGE = re.compile(r"(?<![\d.,])(\d+)\s*(?:-|–|—|~|to|a|à|bis|al|até)\s*(\d+)(?![\d.,]?\d)")
OUT_OF = re.compile(rf"(?:out\s+of|outta)\s+(?P<n>{_NUM_OR_WORD})(?!\d)")
ZH_FULL_MARKS = re.compile(rf"(?:满分|滿分)(?:是|为|為)?\s*(?P<n>\d+|[{_ZH}])\s*分?")
ZH_POINTS = re.compile(rf"(?<![{_ZH}\d第])(?P<num>[{_ZH}]{{1,2}})\s*{CJK_SCORE_UNITS}")
ZH_ALONE = re.compile(rf"(?:{_NO_LETTER_BEFORE}|(?<=[给給打评評]))[{_ZH}]{_NO_LETTER_AFTER}")
DIGITS = re.compile(r"\d+(?:[.,]\d+)?")
WORDS = re.compile(rf"{_NO_LETTER_BEFORE}(?:{NUMBER_WORD_PATTERN}){_NO_LETTER_AFTER}")
STAR_RUN = re.compile(rf"[{_STARS}](?:\s?[{_STARS}])*")
FACE = re.compile("[" + "".join(FACES) + "]")
SCORE_UNIT_AFTER = re.compile(
    rf"\s*(?:{_UNIT}|[{FILLED_STARS}*](?!\s?[{_STARS}])|{CJK_SCORE_UNITS})"
)
ALONE_AFTER = re.compile(r"\s*(?:$|[^\w\s])")
TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# Language (None: unknown) → a time unit right after a number.
TIME_UNIT_AFTER = {
    lang: re.compile(rf"\s*(?:(?:{_time_units(lang)}){_NO_LETTER_AFTER}|{CJK_TIME_UNITS})")
    for lang in (None, *LANGUAGES)
}
