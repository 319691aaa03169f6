"""The built-in survey texts as data: locale → key → text, in the eight shipped locales."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from surveys.texts_catalog_more import DE, FI, FR, PT

# Message texts stay inside GSM-7 where the language allows it (en, de, fi): one curly quote or
# emoji turns an SMS into UCS-2, which cuts a segment from 160 to 70 characters. STOP and START
# stay in English in every locale because they are the carrier's keywords, not ours.

_EN: Final[Mapping[str, str]] = {
    "question.csat": "How satisfied are you with the support you received?",
    "question.nps": "How likely are you to recommend us to a friend or colleague?",
    "question.ces": "How much do you agree: it was easy to get my issue resolved.",
    "hint.scale": "Reply with a number from {low} to {high}.",
    "hint.scale_labels": "Reply with a number from {low} ({low_label}) to {high} ({high_label}).",
    "reprompt.no_score": (
        "Sorry, I didn't catch a score. Please reply with a number from {low} to {high}."
    ),
    "reprompt.out_of_range": (
        "That number isn't on the scale. Please reply with a number from {low} to {high}."
    ),
    "reprompt.ambiguous": "Please pick just one number from {low} to {high}.",
    "reprompt.empty": "Your message was empty. Please reply with a number to answer.",
    "gave_up": "No problem, we'll leave it there. Thanks for your time.",
    "reason.prompt": "What was the main reason? Pick one:",
    "reason.reprompt": "Please pick one of the options, or reply with its number.",
    "follow_up.negative": (
        "We're sorry to hear that. What could we have done better? (or reply SKIP)"
    ),
    "follow_up.neutral": "Thanks! What would have made it better? (or reply SKIP)",
    "follow_up.positive": "Great to hear! What did we do well? (or reply SKIP)",
    "follow_up.detractor": "We're sorry to hear that. What could we do better? (or reply SKIP)",
    "follow_up.passive": "Thanks! What would make it a 10? (or reply SKIP)",
    "follow_up.promoter": "Great to hear! What do you like most about us? (or reply SKIP)",
    "thank_you.negative": "Thank you for your feedback. We'll use it to do better.",
    "thank_you.neutral": "Thanks for your feedback! It helps us improve.",
    "thank_you.positive": "Thanks so much! We're glad we could help.",
    "thank_you.detractor": "Thank you for being honest. We'll use your feedback to improve.",
    "thank_you.passive": "Thanks for your feedback! We'll keep working to earn that 10.",
    "thank_you.promoter": "Thank you! We really appreciate your support.",
    "closed": "This survey has closed. Thank you anyway!",
    "reminder": "A quick reminder: we'd still love to hear from you.",
    "already_answered": "Thanks, we already have your answer.",
    "opted_out": "You won't get any more surveys here. Reply START to opt back in.",
    "opted_in": "You're subscribed to surveys again.",
    "help": "This is a short customer survey. Reply with a number to answer, or STOP to opt out.",
    "ui.title": "Quick survey",
    "ui.send": "Send",
    "ui.placeholder": "Type your answer…",
    "ui.skip": "Skip",
    "ui.ended": "This conversation has ended. You can close this page.",
    "ui.not_open": "This survey is not open yet.",
    "ui.link_invalid": "This link is not valid or has expired.",
    "ui.error": "Something went wrong. Please try again.",
    "telegram.linked": "Thanks! This chat is now connected. We'll send our short surveys here; send /stop at any time to opt out.",
    "telegram.link_invalid": "Sorry, this link is not valid. Please ask us for a new one.",
    "telegram.link_expired": "Sorry, this link has expired. Please ask us for a new one.",
    "telegram.about": "Hello! This bot sends short customer surveys. To connect this chat, open the link we sent you. Send /stop to opt out.",
}

_ZH: Final[Mapping[str, str]] = {
    "question.csat": "您对本次获得的客服支持满意程度如何？",
    "question.nps": "您有多大可能向朋友或同事推荐我们？",
    "question.ces": "您在多大程度上同意：我的问题很容易就得到了解决。",
    "hint.scale": "请回复 {low} 到 {high} 之间的数字。",
    "hint.scale_labels": "请回复 {low}（{low_label}）到 {high}（{high_label}）之间的数字。",
    "reprompt.no_score": "抱歉，我没能识别出评分。请回复 {low} 到 {high} 之间的数字。",
    "reprompt.out_of_range": "这个数字不在评分范围内。请回复 {low} 到 {high} 之间的数字。",
    "reprompt.ambiguous": "请只选择 {low} 到 {high} 之间的一个数字。",
    "reprompt.empty": "您的消息是空的。请回复一个数字进行评分。",
    "gave_up": "没关系，那就先到这里。感谢您抽出时间！",
    "reason.prompt": "主要原因是什么？请选择一项：",
    "reason.reprompt": "请选择其中一个选项，或回复选项的编号。",
    "follow_up.negative": (
        "很抱歉给您带来不好的体验。我们哪些地方可以做得更好？（不想回答可回复：跳过）"
    ),
    "follow_up.neutral": "谢谢！怎样才能让您更满意？（不想回答可回复：跳过）",
    "follow_up.positive": "很高兴听您这么说！我们哪里做得好？（不想回答可回复：跳过）",
    "follow_up.detractor": "很抱歉听到这个。我们哪些地方可以做得更好？（不想回答可回复：跳过）",
    "follow_up.passive": "谢谢！怎样才能让您打 10 分？（不想回答可回复：跳过）",
    "follow_up.promoter": "太好了，谢谢！您最喜欢我们哪一点？（不想回答可回复：跳过）",
    "thank_you.negative": "感谢您的反馈，我们会努力改进。",
    "thank_you.neutral": "感谢您的反馈，这能帮助我们做得更好。",
    "thank_you.positive": "非常感谢！很高兴能帮到您。",
    "thank_you.detractor": "感谢您的坦诚，我们会根据您的反馈努力改进。",
    "thank_you.passive": "感谢您的反馈！我们会继续努力，争取得到您的 10 分。",
    "thank_you.promoter": "谢谢！非常感谢您的支持。",
    "closed": "本次调查已结束，仍然感谢您！",
    "reminder": "温馨提醒：我们仍然很想听到您的回答。",
    "already_answered": "谢谢，我们已经收到您的回答了。",
    "opted_out": "您将不会再在这里收到调查。回复 START 可重新订阅。",
    "opted_in": "您已重新订阅调查。",
    "help": "这是一份简短的客户调查。回复数字即可作答，回复 STOP 可退订。",
    "ui.title": "快速调查",
    "ui.send": "发送",
    "ui.placeholder": "请输入您的回答…",
    "ui.skip": "跳过",
    "ui.ended": "本次对话已结束，您可以关闭此页面。",
    "ui.not_open": "本调查尚未开放。",
    "ui.link_invalid": "此链接无效或已过期。",
    "ui.error": "出了点问题，请重试。",
    "telegram.linked": "谢谢！此聊天已连接。我们会在这里发送简短的调查；随时发送 /stop 即可退订。",
    "telegram.link_invalid": "抱歉，此链接无效。请向我们索取新的链接。",
    "telegram.link_expired": "抱歉，此链接已过期。请向我们索取新的链接。",
    "telegram.about": "您好！此机器人发送简短的客户调查。要连接此聊天，请打开我们发给您的链接。发送 /stop 即可退订。",
}

_ZH_HANT: Final[Mapping[str, str]] = {
    "question.csat": "您對本次獲得的客服支援滿意程度如何？",
    "question.nps": "您有多大可能向朋友或同事推薦我們？",
    "question.ces": "您在多大程度上同意：我的問題很容易就得到了解決。",
    "hint.scale": "請回覆 {low} 到 {high} 之間的數字。",
    "hint.scale_labels": "請回覆 {low}（{low_label}）到 {high}（{high_label}）之間的數字。",
    "reprompt.no_score": "抱歉，我沒能辨識出評分。請回覆 {low} 到 {high} 之間的數字。",
    "reprompt.out_of_range": "這個數字不在評分範圍內。請回覆 {low} 到 {high} 之間的數字。",
    "reprompt.ambiguous": "請只選擇 {low} 到 {high} 之間的一個數字。",
    "reprompt.empty": "您的訊息是空的。請回覆一個數字進行評分。",
    "gave_up": "沒關係，那就先到這裡。感謝您抽出時間！",
    "reason.prompt": "主要原因是什麼？請選擇一項：",
    "reason.reprompt": "請選擇其中一個選項，或回覆選項的編號。",
    "follow_up.negative": (
        "很抱歉讓您有不好的體驗。我們哪些地方可以做得更好？（不想回答可回覆：跳過）"
    ),
    "follow_up.neutral": "謝謝！怎樣才能讓您更滿意？（不想回答可回覆：跳過）",
    "follow_up.positive": "很高興聽您這麼說！我們哪裡做得好？（不想回答可回覆：跳過）",
    "follow_up.detractor": "很抱歉聽到這個。我們哪些地方可以做得更好？（不想回答可回覆：跳過）",
    "follow_up.passive": "謝謝！怎樣才能讓您給 10 分？（不想回答可回覆：跳過）",
    "follow_up.promoter": "太好了，謝謝！您最喜歡我們哪一點？（不想回答可回覆：跳過）",
    "thank_you.negative": "感謝您的回饋，我們會努力改進。",
    "thank_you.neutral": "感謝您的回饋，這能幫助我們做得更好。",
    "thank_you.positive": "非常感謝！很高興能幫上忙。",
    "thank_you.detractor": "感謝您的坦誠，我們會根據您的回饋努力改進。",
    "thank_you.passive": "感謝您的回饋！我們會繼續努力，爭取得到您的 10 分。",
    "thank_you.promoter": "謝謝！非常感謝您的支持。",
    "closed": "本次調查已結束，仍然感謝您！",
    "reminder": "溫馨提醒：我們仍然很想聽到您的回答。",
    "already_answered": "謝謝，我們已經收到您的回答了。",
    "opted_out": "您將不會再在這裡收到調查。回覆 START 可重新訂閱。",
    "opted_in": "您已重新訂閱調查。",
    "help": "這是一份簡短的顧客調查。回覆數字即可作答，回覆 STOP 可取消訂閱。",
    "ui.title": "快速調查",
    "ui.send": "傳送",
    "ui.placeholder": "請輸入您的回答…",
    "ui.skip": "跳過",
    "ui.ended": "本次對話已結束，您可以關閉此頁面。",
    "ui.not_open": "本調查尚未開放。",
    "ui.link_invalid": "此連結無效或已過期。",
    "ui.error": "發生錯誤，請再試一次。",
    "telegram.linked": "謝謝！此聊天已連結。我們會在這裡傳送簡短的調查；隨時傳送 /stop 即可取消訂閱。",
    "telegram.link_invalid": "抱歉，此連結無效。請向我們索取新的連結。",
    "telegram.link_expired": "抱歉，此連結已過期。請向我們索取新的連結。",
    "telegram.about": "您好！此機器人傳送簡短的客戶調查。若要連結此聊天，請開啟我們傳給您的連結。傳送 /stop 即可取消訂閱。",
}

_ES: Final[Mapping[str, str]] = {
    "question.csat": "¿Cuál es tu nivel de satisfacción con la atención que recibiste?",
    "question.nps": "¿Qué probabilidad hay de que nos recomiendes a un amigo o colega?",
    "question.ces": "¿Hasta qué punto estás de acuerdo? Fue fácil resolver mi problema.",
    "hint.scale": "Responde con un número del {low} al {high}.",
    "hint.scale_labels": "Responde con un número del {low} ({low_label}) al {high} ({high_label}).",
    "reprompt.no_score": (
        "Lo siento, no encontré una puntuación. Responde con un número del {low} al {high}."
    ),
    "reprompt.out_of_range": (
        "Ese número no está en la escala. Responde con un número del {low} al {high}."
    ),
    "reprompt.ambiguous": "Elige solo un número del {low} al {high}.",
    "reprompt.empty": "Tu mensaje llegó vacío. Responde con un número para contestar.",
    "gave_up": "No pasa nada, lo dejamos aquí. Gracias por tu tiempo.",
    "reason.prompt": "¿Cuál fue el motivo principal? Elige uno:",
    "reason.reprompt": "Elige una de las opciones o responde con su número.",
    "follow_up.negative": (
        "Lamentamos oír eso. ¿Qué podríamos haber hecho mejor? (o responde OMITIR)"
    ),
    "follow_up.neutral": "¡Gracias! ¿Qué habría mejorado tu experiencia? (o responde OMITIR)",
    "follow_up.positive": "¡Nos alegra saberlo! ¿Qué hicimos bien? (o responde OMITIR)",
    "follow_up.detractor": "Lamentamos oír eso. ¿Qué podríamos hacer mejor? (o responde OMITIR)",
    "follow_up.passive": (
        "¡Gracias! ¿Qué haría falta para que nos dieras un 10? (o responde OMITIR)"
    ),
    "follow_up.promoter": (
        "¡Nos alegra saberlo! ¿Qué es lo que más te gusta de nosotros? (o responde OMITIR)"
    ),
    "thank_you.negative": "Gracias por tu opinión. La usaremos para mejorar.",
    "thank_you.neutral": "¡Gracias por tu opinión! Nos ayuda a mejorar.",
    "thank_you.positive": "¡Muchas gracias! Nos alegra haberte ayudado.",
    "thank_you.detractor": "Gracias por tu sinceridad. Usaremos tus comentarios para mejorar.",
    "thank_you.passive": "¡Gracias por tu opinión! Seguiremos trabajando para ganarnos ese 10.",
    "thank_you.promoter": "¡Gracias! Valoramos mucho tu apoyo.",
    "closed": "Esta encuesta ya está cerrada. ¡Gracias de todos modos!",
    "reminder": "Un recordatorio rápido: nos encantaría conocer tu opinión.",
    "already_answered": "Gracias, ya tenemos tu respuesta.",
    "opted_out": "No recibirás más encuestas por aquí. Responde START para volver a suscribirte.",
    "opted_in": "Tu suscripción a las encuestas está activa de nuevo.",
    "help": (
        "Esta es una breve encuesta de atención al cliente. Responde con un número para contestar"
        " o STOP para darte de baja."
    ),
    "ui.title": "Encuesta rápida",
    "ui.send": "Enviar",
    "ui.placeholder": "Escribe tu respuesta…",
    "ui.skip": "Omitir",
    "ui.ended": "Esta conversación ha terminado. Puedes cerrar esta página.",
    "ui.not_open": "Esta encuesta aún no está abierta.",
    "ui.link_invalid": "Este enlace no es válido o ha caducado.",
    "ui.error": "Algo salió mal. Inténtalo de nuevo.",
    "telegram.linked": "¡Gracias! Este chat ya está conectado. Aquí te enviaremos nuestras encuestas breves; envía /stop cuando quieras para darte de baja.",
    "telegram.link_invalid": "Lo sentimos, este enlace no es válido. Pídenos uno nuevo.",
    "telegram.link_expired": "Lo sentimos, este enlace ha caducado. Pídenos uno nuevo.",
    "telegram.about": "¡Hola! Este bot envía encuestas breves a clientes. Para conectar este chat, abre el enlace que te enviamos. Envía /stop para darte de baja.",
}

CATALOG: Final[Mapping[str, Mapping[str, str]]] = {
    "en": _EN,
    "zh": _ZH,
    "zh-Hant": _ZH_HANT,
    "es": _ES,
    "fr": FR,
    "de": DE,
    "pt": PT,
    "fi": FI,
}
"""Built-in texts by locale, then key; every locale carries every key (a test checks it)."""
