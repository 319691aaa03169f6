"""Recognise opt-out, opt-in, help and skip replies: carrier keywords and their everyday forms."""

from __future__ import annotations

import functools
import operator
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from surveys.numerals import CJK, language_of
from surveys.parsing import parse_answer


class Intent(StrEnum):
    """What a reply asks for instead of (or besides) answering."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    SKIP = "skip"


# Twilio acts on these when one is the whole message, in any case; surveybot must agree with it.
_CARRIER: dict[str, Intent] = {
    **dict.fromkeys(
        ("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"),
        Intent.OPT_OUT,
    ),
    **dict.fromkeys(("start", "yes", "unstop"), Intent.OPT_IN),
    **dict.fromkeys(("help", "info"), Intent.HELP),
}


@dataclass(frozen=True, slots=True)
class _Words:
    """One language's words; phrases are casefolded tokens joined by single spaces."""

    skip: frozenset[str]  # whole replies that decline the follow-up question
    stop: frozenset[str]  # whole replies that ask to stop
    help: frozenset[str]  # whole replies that ask for help
    strong: frozenset[str]  # ask to stop wherever they stand in a short reply
    weak: frozenset[str]  # stop verbs that count only among words about messages
    context: frozenset[str]  # the words about messages, politeness and annoyance

    @classmethod
    def of(cls, **tables: str) -> _Words:
        return cls(**{name: frozenset(table.split("|")) for name, table in tables.items()})

    def __or__(self, other: _Words) -> _Words:
        return _Words(*(a | b for a, b in zip(self.astuple(), other.astuple(), strict=True)))

    def astuple(self) -> tuple[frozenset[str], ...]:
        return (self.skip, self.stop, self.help, self.strong, self.weak, self.context)


_WORDS: dict[str, _Words] = {
    "en": _Words.of(
        skip="no|nope|nah|skip|n a|na|nothing|no comment|no comments|none|pass|no thanks"
        "|no thank you|no thx|nope thanks|nothing else|nothing to add|not really|all good"
        "|i'm good|im good|that's all|thats all|no nothing",
        stop="unsub|opt out|stop it|stop now",
        help="help me",
        strong="unsubscribe|unsub|opt out|optout|stopall|leave me alone|remove me|take me off"
        "|do not contact|don't contact|dont contact|do not text|don't text|dont text"
        "|do not message|don't message|dont message|stop texting|stop messaging|stop sending"
        "|stop contacting|stop emailing|stop spamming|stop asking|no more surveys"
        "|no more messages|no more texts",
        weak="stop|quit|enough|no more|cancel",
        context="please|pls|plz|now|already|just|me|my|it|this|these|those|that|the|all|them"
        "|your|ur|u|you|texting|texts|text|txt|messaging|messages|message|msgs|msg|sms|sending"
        "|send|emails|email|emailing|asking|calling|calls|contacting|bugging|spamming|spam"
        "|survey|surveys|questions|subscription|thanks|thx|thank|ok|okay|god|damn|fucking"
        "|freaking|stupid|annoying|immediately|asap|seriously|ffs|omg|oh|hey|i|want|to|would"
        "|like|from|list|more|any|anymore|make|with|of|no|nope",
    ),
    "es": _Words.of(
        skip="no|nada|ninguno|ninguna|no gracias|sin comentarios|nada más|nada mas|paso"
        "|todo bien|nop|omitir",
        stop="para|baja|alto|basta|cancelar|detener|darme de baja|dar de baja",
        help="ayuda",
        strong="darme de baja|dar de baja|de baja|no me escriban|no me escribas"
        "|dejen de escribir|deja de escribir|dejen de enviar|deja de enviar|dejen de mandar"
        "|deja de mandar|no más mensajes|no mas mensajes|no más encuestas|no mas encuestas"
        "|desuscribir|desuscribirme|no me molesten|cancelar suscripción|cancelar suscripcion",
        weak="para|parar|paren|pare|basta|alto|detener|detengan|cancelar|baja|ya no",
        context="por|favor|porfa|porfavor|ya|me|de|mensajes|mensaje|encuestas|encuesta|enviar"
        "|enviarme|escribir|escribirme|mandar|mandarme|sms|gracias|los|las|estos|estas|esto"
        "|más|mas|ahora|quiero|la|lista|todo|suscripción|suscripcion|mi|no",
    ),
    "fr": _Words.of(
        skip="non|rien|non merci|pas de commentaire|aucun|aucun commentaire|rien à ajouter"
        "|rien a ajouter|c'est tout|pas vraiment|nan|passer",
        stop="arrêt|arret|arrêter|arreter|arrête|arrete|arrêtez|arretez|désabonner"
        "|desabonner|désinscrire|desinscrire|annuler",
        help="aide",
        strong="désabonner|desabonner|désabonnez moi|desabonnez moi|me désabonner"
        "|désinscrire|desinscrire|désinscription|desinscription|plus de messages|plus de sms"
        "|plus de sondages|laissez moi tranquille|fichez moi la paix|ne plus recevoir",
        weak="stop|arrêt|arret|arrêter|arreter|arrête|arrete|arrêtez|arretez|assez|stoppez|annuler",
        context="svp|stp|s'il|vous|te|plaît|plait|merci|les|messages|message|sms|de|m'écrire"
        "|m'ecrire|me|moi|tout|maintenant|ça|ca|cela|envoyer|envoi|sondages|sondage|ces|mes"
        "|vos|enquêtes|enquetes|d'envoyer|m'envoyer|ce|c'est|bon|non",
    ),
    "de": _Words.of(
        skip="nein|nichts|nein danke|kein kommentar|keine|nö|nee|passt|passt schon"
        "|nichts weiter|nichts hinzuzufügen|alles gut|überspringen",
        stop="stopp|abmelden|abbestellen|aufhören|aufhoeren|austragen|schluss",
        help="hilfe",
        strong="abmelden|abbestellen|austragen|keine nachrichten mehr|keine umfragen mehr"
        "|keine sms mehr|lasst mich in ruhe|lassen sie mich in ruhe|nicht mehr kontaktieren"
        "|nicht mehr anschreiben",
        weak="stopp|stop|aufhören|aufhoeren|hör auf|hört auf|hören sie auf|schluss|genug",
        context="bitte|danke|jetzt|sofort|mit|den|die|der|nachrichten|nachricht|sms|umfragen"
        "|umfrage|mir|mich|schreiben|senden|schicken|zu|das|ihr|sie|endlich|mal|damit|dem"
        "|diesen|diese|mails|mail|e|nein",
    ),
    "pt": _Words.of(
        skip="não|nao|nada|nenhum|nenhuma|não obrigado|nao obrigado|não obrigada"
        "|nao obrigada|sem comentários|sem comentarios|passo|tudo bem|nada a acrescentar"
        "|pular",
        stop="parar|pare|parem|sair|cancelar|chega|descadastrar|para",
        help="ajuda",
        strong="descadastrar|descadastre|me descadastre|me descadastrem|cancelar inscrição"
        "|cancelar inscricao|não quero mais receber|nao quero mais receber|chega de mensagens"
        "|parem de mandar|pare de mandar|pare de enviar|parem de enviar|não me mande"
        "|nao me mande|me deixe em paz|me deixa em paz|me deixem em paz|sem mais mensagens",
        weak="parar|pare|parem|para|sair|chega|cancelar|basta",
        context="por|favor|pfv|pf|pfvr|já|ja|agora|de|mandar|enviar|me|mensagens|mensagem"
        "|sms|obrigado|obrigada|pesquisas|pesquisa|isso|essas|esses|estas|quero|da|lista|com"
        "|as|os|emails|não|nao",
    ),
    "fi": _Words.of(
        skip="ei|ei kiitos|ohita|ei mitään|ei mitaan|ei kommentteja|ei muuta|eipä|eipa|ohi"
        "|ei oo|ei ole",
        stop="lopeta|lopettakaa|peru|peruuta",
        help="apua|ohje",
        strong="lopeta viestit|ei enää viestejä|ei enaa viesteja|ei enää kyselyjä"
        "|älkää lähettäkö|alkaa lahettako|poista minut|peru tilaus|en halua enää viestejä",
        weak="lopeta|lopettakaa|riittää|riittaa|peru|peruuta",
        context="kiitos|nyt|heti|jo|viestit|viestejä|viesteja|viestien|lähettäminen"
        "|lahettaminen|lähettämistä|tätä|tata|kiitti|pliis|nämä|nama|kyselyt|kyselyjä"
        "|tekstiviestit|tämä|tama|tilaus|minut|mulle|minulle|ei",
    ),
    "zh": _Words.of(
        skip="不用|没有|沒有|无|無|没了|沒了|不用了|算了|跳过|跳過|没什么|沒什麼|没事|沒事|不了"
        "|不需要|没意见|沒意見|暂无|暫無",
        stop="退订|退訂|取消订阅|取消訂閱|停止|td|退出",
        help="帮助|幫助",
        strong="退订|退訂|取消订阅|取消訂閱|别再发|別再發|不要再发|不要再發|不要再打扰|不要再打擾"
        "|别打扰我|別打擾我|拒收|不再接收|别再给我发|別再給我發",
        weak="停止|取消",
        context="请|請|麻烦|麻煩|发送|發送|发|發|短信|簡訊|简讯|消息|訊息|信息|调查|調查|问卷|問卷"
        "|吧|了|谢谢|謝謝|给我|給我|推送|吗|嗎|这些|這些|所有|订阅|訂閱|一下|马上|馬上|立即",
    ),
}
_ALL_WORDS = functools.reduce(operator.or_, _WORDS.values())

_CJK_CHAR = re.compile(f"[{CJK}]")
_TOKEN = re.compile(rf"[{CJK}]+|[^\W_{CJK}]+(?:'[^\W_{CJK}]+)*")
_NEGATORS = frozenset(
    "don't dont not never won't wont wouldn't wouldnt can't cant didn't didnt couldn't couldnt"
    " doesn't doesnt nicht nie pas jamais nunca nem älä älkää".split()
)
_CJK_NEGATORS = "不别別没沒未"
# "No, thanks", "不用了，谢谢": thanks around a skip word.
_THANKS = frozenset(
    "thanks thank you thx ty please gracias merci danke obrigado obrigada kiitos kiitti 谢谢 謝謝".split()
)
_MAX_WORDS = 6  # "Please stop sending me these surveys"; longer replies are comments
_MAX_CJK = 15


def detect_intent(text: str, locale: str | None = None) -> Intent | None:
    """What `text` asks for besides an answer, or None; never raises.

    Carrier keywords (STOP, START, HELP, …) count when they are the whole message. Short requests
    to stop ("please stop", "no more surveys", "退订", "bitte abmelden") are OPT_OUT too, unless
    negated ("he wouldn't stop") or the reply carries a score ("10, stop asking" is a 10).
    "No" is SKIP, not OPT_OUT; "yes" is OPT_IN as it is for the carrier.
    """
    folded = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    tokens = _TOKEN.findall(folded)
    if not tokens:  # "-", "...": a skipped comment
        stripped = folded.strip()
        return Intent.SKIP if stripped and not stripped.strip("-–—./…") else None
    key = " ".join(tokens)
    language = language_of(locale)
    words = _WORDS["en"] | _WORDS[language] if language else _ALL_WORDS
    if key in _CARRIER:
        return _CARRIER[key]
    if key in words.skip or " ".join(t for t in tokens if t not in _THANKS) in words.skip:
        return Intent.SKIP
    if key in words.help:
        return Intent.HELP
    if (key in words.stop or _asks_to_stop(tokens, words)) and (
        parse_answer(text, (0, 10), locale).score is None
    ):
        return Intent.OPT_OUT
    return None


def _asks_to_stop(tokens: list[str], words: _Words) -> bool:
    latin = [token for token in tokens if not _CJK_CHAR.match(token)]
    cjk = "".join(token for token in tokens if _CJK_CHAR.match(token))
    if len(latin) > _MAX_WORDS or len(cjk) > _MAX_CJK:
        return False
    for phrase in words.strong | words.weak:
        rest = _without(phrase, latin, cjk)
        if rest is not None and (phrase in words.strong or _only_context(*rest, words)):
            return True
    return False


def _without(phrase: str, latin: list[str], cjk: str) -> tuple[list[str], str] | None:
    """The reply without `phrase`, or None when the phrase is absent or negated."""
    if _CJK_CHAR.match(phrase):
        at = cjk.find(phrase)
        if at < 0 or (at > 0 and cjk[at - 1] in _CJK_NEGATORS):
            return None
        return latin, cjk[:at] + cjk[at + len(phrase) :]
    parts = phrase.split()
    for at in range(len(latin) - len(parts) + 1):
        if latin[at : at + len(parts)] == parts:
            if _NEGATORS.intersection(latin[max(0, at - 2) : at]):
                return None
            return latin[:at] + latin[at + len(parts) :], cjk
    return None


def _only_context(latin: list[str], cjk: str, words: _Words) -> bool:
    for fragment in sorted((w for w in words.context if _CJK_CHAR.match(w)), key=len)[::-1]:
        cjk = cjk.replace(fragment, "")
    return not cjk and all(token in words.context for token in latin)
