"""The email channel's own texts (eight locales) and its small rating and unsubscribe pages.

The pages carry the instance's brand (bot.wiring.branding): its name as the title and above the
heading, its colour on the button (through the stylesheet: the pages allow no inline styles).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Final

from bot.wiring.branding import PLAIN, Brand
from surveys.texts import builtin, normalize_locale, pick, render

# Kept here rather than in the shared catalog: only the email channel and its pages use them.
TEXTS: Final[Mapping[str, Mapping[str, str]]] = {
    "email.hint": {
        "en": "Click a number from {low} to {high} to answer.",
        "zh": "点击 {low} 到 {high} 之间的数字即可作答。",
        "zh-Hant": "點擊 {low} 到 {high} 之間的數字即可作答。",
        "es": "Haz clic en un número del {low} al {high} para responder.",
        "fr": "Cliquez sur une note de {low} à {high} pour répondre.",
        "de": "Klicken Sie auf eine Zahl von {low} bis {high}, um zu antworten.",
        "pt": "Clique em um número de {low} a {high} para responder.",
        "fi": "Vastaa napsauttamalla numeroa {low}-{high}.",
    },
    "email.unsubscribe": {
        "en": "Unsubscribe from these surveys",
        "zh": "退订此类调查",
        "zh-Hant": "退訂此類調查",
        "es": "Darse de baja de estas encuestas",
        "fr": "Se désabonner de ces enquêtes",
        "de": "Diese Umfragen abbestellen",
        "pt": "Cancelar o recebimento destas pesquisas",
        "fi": "Peru nämä kyselyt",
    },
    "rate.heading": {
        "en": "Your answer: {score}",
        "zh": "您的评分：{score}",
        "zh-Hant": "您的評分：{score}",
        "es": "Tu respuesta: {score}",
        "fr": "Votre réponse : {score}",
        "de": "Ihre Antwort: {score}",
        "pt": "Sua resposta: {score}",
        "fi": "Vastauksesi: {score}",
    },
    "rate.confirm": {
        "en": "Confirm score {score}",
        "zh": "确认评分 {score}",
        "zh-Hant": "確認評分 {score}",
        "es": "Confirmar la puntuación {score}",
        "fr": "Confirmer la note {score}",
        "de": "Bewertung {score} bestätigen",
        "pt": "Confirmar a nota {score}",
        "fi": "Vahvista arvio {score}",
    },
    "rate.saving": {
        "en": "Saving your answer…",
        "zh": "正在保存您的回答…",
        "zh-Hant": "正在儲存您的回答…",
        "es": "Guardando tu respuesta…",
        "fr": "Enregistrement de votre réponse…",
        "de": "Ihre Antwort wird gespeichert…",
        "pt": "Salvando sua resposta…",
        "fi": "Vastaustasi tallennetaan…",
    },
    "unsubscribe.question": {
        "en": "Stop getting survey emails from us?",
        "zh": "不再接收我们的调查邮件？",
        "zh-Hant": "不再接收我們的調查郵件？",
        "es": "¿Dejar de recibir nuestras encuestas por correo?",
        "fr": "Ne plus recevoir nos enquêtes par e-mail ?",
        "de": "Keine Umfrage-E-Mails mehr von uns erhalten?",
        "pt": "Parar de receber nossas pesquisas por e-mail?",
        "fi": "Haluatko lopettaa kyselysähköpostit?",
    },
    "unsubscribe.button": {
        "en": "Unsubscribe",
        "zh": "退订",
        "zh-Hant": "退訂",
        "es": "Darme de baja",
        "fr": "Se désabonner",
        "de": "Abbestellen",
        "pt": "Cancelar inscrição",
        "fi": "Peru tilaus",
    },
    "unsubscribe.done": {
        "en": "You're unsubscribed. You won't get survey emails from us any more.",
        "zh": "您已退订，今后不会再收到我们的调查邮件。",
        "zh-Hant": "您已退訂，今後不會再收到我們的調查郵件。",
        "es": "Te has dado de baja. Ya no recibirás nuestras encuestas por correo.",
        "fr": "Vous êtes désabonné. Vous ne recevrez plus nos enquêtes par e-mail.",
        "de": "Sie sind abgemeldet und erhalten keine Umfrage-E-Mails mehr von uns.",
        "pt": "Inscrição cancelada. Você não receberá mais nossas pesquisas por e-mail.",
        "fi": "Tilaus on peruttu. Et saa meiltä enää kyselyitä sähköpostitse.",
    },
}

PAGE_CSS = """\
/* surveybot email pages: the rating confirmation and the unsubscribe page. */
:root { color-scheme: light dark; --bg: #f3f4f6; --card: #fff; --fg: #1f2328; --muted: #57606a;
  --accent: #1a56db; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --card: #161b22; --fg: #e6edf3;
  --muted: #9198a1; --accent: #4d8cff; } }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center;
  background: var(--bg); color: var(--fg); padding: 16px;
  font: 16px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
.card { width: 100%; max-width: 420px; background: var(--card); border-radius: 10px;
  padding: 28px 24px; box-shadow: 0 1px 3px rgba(0, 0, 0, .12); text-align: center; }
h1 { font-size: 1.3rem; margin: 0 0 12px; }
.brand { font-size: .9rem; font-weight: 600; color: var(--muted); margin: 0 0 14px; }
p { color: var(--muted); margin: 0 0 16px; }
p:empty { display: none; }
button { font: inherit; font-weight: 600; color: var(--accent-fg, #fff); background: var(--accent); border: 0;
  border-radius: 8px; padding: 12px 20px; min-width: 60%; cursor: pointer; }
button:focus-visible { outline: 3px solid var(--fg); outline-offset: 2px; }
[hidden] { display: none !important; }
"""

# Runs only in a real browser: mail scanners fetch the page but do not run it, so they never
# confirm a score. Retries reuse one client_message_id, so a retried POST is never counted twice.
RATE_JS = """\
/* surveybot email rating page: confirms the clicked score, then opens the survey's chat page. */
(() => {
  "use strict";
  const main = document.getElementById("rate");
  const form = document.getElementById("confirm");
  const status = document.getElementById("status");
  if (!main || !form || !status) return;
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  const id = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  async function confirm() {
    form.hidden = true;
    status.textContent = main.dataset.saving;
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        const res = await fetch(form.action, {
          method: "POST", cache: "no-store", credentials: "omit",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({ score: Number(main.dataset.score), client_message_id: id }),
        });
        const data = await res.json().catch(() => null);
        if (res.ok && data && data.next) { location.replace(data.next); return; }
        if (res.status < 500) break;
      } catch (e) { /* network trouble: try again */ }
      await sleep(400 * 2 ** attempt);
    }
    status.textContent = main.dataset.error;
    form.hidden = false;
  }
  confirm();
})();
"""

STATIC = {
    "page.css": (PAGE_CSS, "text/css; charset=utf-8"),
    "rate.js": (RATE_JS, "text/javascript; charset=utf-8"),
}


def static_file(name: str, brand: Brand) -> tuple[str, str] | None:
    """A static file of the pages (content, media type), the stylesheet in the brand's colour."""
    if name not in STATIC:
        return None
    content, media_type = STATIC[name]
    return (content + brand.css() if name == "page.css" else content), media_type


def text(key: str, locale: str | None, **values: object) -> str:
    """One of the email texts in the reader's locale (falling back to English)."""
    return render(pick(TEXTS[key], locale), values)


def page_locale(*tags: str | None) -> str:
    """The first usable locale among the tags (the invitation's, then the contact's), else en."""
    for tag in tags:
        locale = normalize_locale(tag)
        if locale:
            return locale
    return "en"


def _page(locale: str, body: str, brand: Brand, *, attrs: str = "", script: bool = False) -> str:
    e = html.escape
    if brand.name:
        body = f'<p class="brand" data-testid="brand">{e(brand.name)}</p>{body}'
    return (
        f'<!doctype html><html lang="{e(locale, quote=True)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex, nofollow">'
        f"<title>{e(brand.title(locale))}</title>"
        '<link rel="stylesheet" href="/r/static/page.css">'
        + ('<script src="/r/static/rate.js" defer></script>' if script else "")
        + f'</head><body><main class="card"{attrs}>{body}</main></body></html>'
    )


def rate_page(locale: str, *, action: str, score: int, nonce: str, brand: Brand = PLAIN) -> str:
    """The page behind a rating link: a script confirms at once; without one, a button does."""
    e = html.escape
    attrs = (
        f' id="rate" data-score="{score}" data-saving="{e(text("rate.saving", locale))}"'
        f' data-error="{e(builtin("ui.error", locale))}"'
    )
    body = (
        f"<h1>{e(text('rate.heading', locale, score=score))}</h1>"
        '<p id="status" role="status" data-testid="status"></p>'
        f'<form id="confirm" method="post" action="{e(action, quote=True)}">'
        f'<input type="hidden" name="score" value="{score}">'
        f'<input type="hidden" name="client_message_id" value="{e(nonce, quote=True)}">'
        '<button type="submit" data-testid="confirm">'
        f"{e(text('rate.confirm', locale, score=score))}</button></form>"
    )
    return _page(locale, body, brand, attrs=attrs, script=True)


def unsubscribe_page(locale: str, *, action: str | None, brand: Brand = PLAIN) -> str:
    """The confirm page (a button that POSTs), or with no action the "you're unsubscribed" page."""
    e = html.escape
    if action is None:
        done = f'<h1 data-testid="done">{e(text("unsubscribe.done", locale))}</h1>'
        return _page(locale, done, brand)
    body = (
        f"<h1>{e(text('unsubscribe.question', locale))}</h1>"
        f'<form method="post" action="{e(action, quote=True)}">'
        '<button type="submit" data-testid="unsubscribe">'
        f"{e(text('unsubscribe.button', locale))}</button></form>"
    )
    return _page(locale, body, brand)


def refusal_page(locale: str, brand: Brand = PLAIN) -> str:
    """A bad, tampered or expired link: say so and change nothing."""
    return _page(locale, f"<h1>{html.escape(builtin('ui.link_invalid', locale))}</h1>", brand)
