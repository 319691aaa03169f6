"""The built-in survey texts in fr, de, pt and fi (kept apart so each module stays short)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

FR: Final[Mapping[str, str]] = {
    "question.csat": "Quel est votre niveau de satisfaction concernant l'assistance reçue ?",
    "question.nps": (
        "Quelle est la probabilité que vous nous recommandiez à un ami ou un collègue ?"
    ),
    "question.ces": (
        "Dans quelle mesure êtes-vous d'accord : il a été facile de faire résoudre mon problème."
    ),
    "hint.scale": "Répondez par une note de {low} à {high}.",
    "hint.scale_labels": "Répondez par une note de {low} ({low_label}) à {high} ({high_label}).",
    "hint.skip": "{text} (ou répondez PASSER)",
    "reprompt.no_score": (
        "Désolé, je n'ai pas trouvé de note. Répondez par une note de {low} à {high}."
    ),
    "reprompt.out_of_range": (
        "Cette note est hors de l'échelle. Répondez par une note de {low} à {high}."
    ),
    "reprompt.ambiguous": "Choisissez une seule note de {low} à {high}.",
    "reprompt.empty": "Votre message est vide. Envoyez une note pour répondre.",
    "gave_up": "Pas de souci, nous en resterons là. Merci pour votre temps.",
    "reason.prompt": "Quelle est la raison principale ? Choisissez-en une :",
    "reason.reprompt": "Choisissez une des options, ou répondez par son numéro.",
    "follow_up.negative": ("Nous sommes désolés de l'apprendre. Qu'aurions-nous pu mieux faire ?"),
    "follow_up.neutral": "Merci ! Qu'aurions-nous pu améliorer ?",
    "follow_up.positive": "Ravis de l'apprendre ! Qu'avons-nous bien fait ?",
    "follow_up.detractor": ("Nous sommes désolés de l'apprendre. Que pourrions-nous mieux faire ?"),
    "follow_up.passive": "Merci ! Que faudrait-il pour mériter un 10 ?",
    "follow_up.promoter": ("Ravis de l'apprendre ! Qu'appréciez-vous le plus chez nous ?"),
    "thank_you.negative": "Merci pour votre retour. Il nous aidera à faire mieux.",
    "thank_you.neutral": "Merci pour votre retour ! Il nous aide à nous améliorer.",
    "thank_you.positive": "Merci beaucoup ! Nous sommes ravis d'avoir pu vous aider.",
    "thank_you.detractor": (
        "Merci pour votre franchise. Nous utiliserons votre retour pour nous améliorer."
    ),
    "thank_you.passive": (
        "Merci pour votre retour ! Nous continuons nos efforts pour mériter ce 10."
    ),
    "thank_you.promoter": "Merci ! Nous apprécions vraiment votre soutien.",
    "closed": "Cette enquête est terminée. Merci quand même !",
    "reminder": "Petit rappel : votre avis nous intéresse toujours.",
    "already_answered": "Merci, nous avons déjà votre réponse.",
    "opted_out": "Vous ne recevrez plus d'enquêtes ici. Répondez START pour vous réabonner.",
    "opted_out.page": "Vous ne recevrez plus d'enquêtes ici.",
    "opted_in": "Votre abonnement aux enquêtes est réactivé.",
    "help": (
        "Ceci est une courte enquête client. Répondez par une note pour participer, ou STOP"
        " pour vous désabonner."
    ),
    "ui.title": "Enquête rapide",
    "ui.send": "Envoyer",
    "ui.placeholder": "Saisissez votre réponse…",
    "ui.skip": "Passer",
    "ui.ended": "Cette conversation est terminée. Vous pouvez fermer cette page.",
    "ui.not_open": "Cette enquête n'est pas encore ouverte.",
    "ui.link_invalid": "Ce lien n'est pas valide ou a expiré.",
    "ui.error": "Une erreur s'est produite. Veuillez réessayer.",
    "telegram.linked": "Merci ! Cette conversation est maintenant connectée. Nous vous enverrons ici nos courtes enquêtes ; envoyez /stop à tout moment pour vous désabonner.",
    "telegram.link_invalid": "Désolé, ce lien n'est pas valide. Demandez-nous-en un nouveau.",
    "telegram.link_expired": "Désolé, ce lien a expiré. Demandez-nous-en un nouveau.",
    "telegram.link_used": "Désolé, ce lien est déjà associé à une autre conversation. Demandez-nous-en un nouveau.",
    "telegram.about": "Bonjour ! Ce bot envoie de courtes enquêtes clients. Pour connecter cette conversation, ouvrez le lien que nous vous avons envoyé. Envoyez /stop pour vous désabonner.",
}

DE: Final[Mapping[str, str]] = {
    "question.csat": "Wie zufrieden sind Sie mit der Unterstützung, die Sie erhalten haben?",
    "question.nps": (
        "Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen empfehlen würden?"
    ),
    "question.ces": "Inwieweit stimmen Sie zu: Es war einfach, mein Anliegen lösen zu lassen.",
    "hint.scale": "Antworten Sie mit einer Zahl von {low} bis {high}.",
    "hint.scale_labels": (
        "Antworten Sie mit einer Zahl von {low} ({low_label}) bis {high} ({high_label})."
    ),
    "hint.skip": "{text} (oder NEIN zum Überspringen)",
    "reprompt.no_score": (
        "Entschuldigung, ich habe keine Bewertung erkannt."
        " Bitte antworten Sie mit einer Zahl von {low} bis {high}."
    ),
    "reprompt.out_of_range": (
        "Diese Zahl liegt nicht auf der Skala."
        " Bitte antworten Sie mit einer Zahl von {low} bis {high}."
    ),
    "reprompt.ambiguous": "Bitte wählen Sie nur eine Zahl von {low} bis {high}.",
    "reprompt.empty": "Ihre Nachricht war leer. Bitte antworten Sie mit einer Zahl.",
    "gave_up": "Kein Problem, dann belassen wir es dabei. Danke für Ihre Zeit.",
    "reason.prompt": "Was war der Hauptgrund? Bitte wählen Sie einen aus:",
    "reason.reprompt": "Bitte wählen Sie eine der Optionen oder antworten Sie mit ihrer Nummer.",
    "follow_up.negative": ("Das tut uns leid. Was hätten wir besser machen können?"),
    "follow_up.neutral": ("Danke! Was hätte Ihre Erfahrung besser gemacht?"),
    "follow_up.positive": "Das freut uns! Was haben wir gut gemacht?",
    "follow_up.detractor": ("Das tut uns leid. Was könnten wir besser machen?"),
    "follow_up.passive": "Danke! Was fehlt uns zu einer 10?",
    "follow_up.promoter": ("Das freut uns sehr! Was gefällt Ihnen an uns am besten?"),
    "thank_you.negative": "Danke für Ihr Feedback. Wir nutzen es, um besser zu werden.",
    "thank_you.neutral": "Danke für Ihr Feedback! Es hilft uns, besser zu werden.",
    "thank_you.positive": "Vielen Dank! Schön, dass wir helfen konnten.",
    "thank_you.detractor": (
        "Danke für Ihre Offenheit. Wir nutzen Ihr Feedback, um uns zu verbessern."
    ),
    "thank_you.passive": (
        "Danke für Ihr Feedback! Wir arbeiten weiter daran, uns die 10 zu verdienen."
    ),
    "thank_you.promoter": "Vielen Dank! Wir schätzen Ihre Unterstützung sehr.",
    "closed": "Diese Umfrage ist beendet. Trotzdem vielen Dank!",
    "reminder": "Eine kurze Erinnerung: Wir freuen uns weiterhin über Ihre Antwort.",
    "already_answered": "Danke, wir haben Ihre Antwort bereits erhalten.",
    "opted_out": (
        "Sie erhalten hier keine Umfragen mehr. Antworten Sie mit START, um wieder Umfragen zu"
        " erhalten."
    ),
    "opted_out.page": "Sie erhalten hier keine Umfragen mehr.",
    "opted_in": "Sie erhalten wieder Umfragen.",
    "help": (
        "Dies ist eine kurze Kundenumfrage. Antworten Sie mit einer Zahl."
        " Mit STOP melden Sie sich ab."
    ),
    "ui.title": "Kurze Umfrage",
    "ui.send": "Senden",
    "ui.placeholder": "Ihre Antwort…",
    "ui.skip": "Überspringen",
    "ui.ended": "Dieses Gespräch ist beendet. Sie können diese Seite schließen.",
    "ui.not_open": "Diese Umfrage ist noch nicht geöffnet.",
    "ui.link_invalid": "Dieser Link ist ungültig oder abgelaufen.",
    "ui.error": "Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.",
    "telegram.linked": "Danke! Dieser Chat ist jetzt verbunden. Wir senden Ihnen hier unsere kurzen Umfragen; senden Sie jederzeit /stop, um sich abzumelden.",
    "telegram.link_invalid": "Dieser Link ist leider ungültig. Bitte fordern Sie bei uns einen neuen an.",
    "telegram.link_expired": "Dieser Link ist leider abgelaufen. Bitte fordern Sie bei uns einen neuen an.",
    "telegram.link_used": "Dieser Link ist leider schon mit einem anderen Chat verbunden. Bitte fordern Sie bei uns einen neuen an.",
    "telegram.about": "Hallo! Dieser Bot sendet kurze Kundenumfragen. Um diesen Chat zu verbinden, öffnen Sie den Link, den wir Ihnen geschickt haben. Senden Sie /stop, um sich abzumelden.",
}

PT: Final[Mapping[str, str]] = {
    "question.csat": "Qual é o seu nível de satisfação com o atendimento que você recebeu?",
    "question.nps": "Qual a probabilidade de você nos recomendar a um amigo ou colega?",
    "question.ces": "Em que medida você concorda: foi fácil resolver o meu problema.",
    "hint.scale": "Responda com um número de {low} a {high}.",
    "hint.scale_labels": "Responda com um número de {low} ({low_label}) a {high} ({high_label}).",
    "hint.skip": "{text} (ou responda PULAR)",
    "reprompt.no_score": (
        "Desculpe, não identifiquei uma nota. Responda com um número de {low} a {high}."
    ),
    "reprompt.out_of_range": (
        "Esse número não está na escala. Responda com um número de {low} a {high}."
    ),
    "reprompt.ambiguous": "Escolha apenas um número de {low} a {high}.",
    "reprompt.empty": "Sua mensagem chegou vazia. Responda com um número para participar.",
    "gave_up": "Tudo bem, vamos parar por aqui. Obrigado pelo seu tempo.",
    "reason.prompt": "Qual foi o principal motivo? Escolha um:",
    "reason.reprompt": "Escolha uma das opções ou responda com o número dela.",
    "follow_up.negative": ("Sentimos muito por isso. O que poderíamos ter feito melhor?"),
    "follow_up.neutral": "Obrigado! O que teria melhorado a sua experiência?",
    "follow_up.positive": "Que bom saber! O que fizemos bem?",
    "follow_up.detractor": ("Sentimos muito por isso. O que poderíamos fazer melhor?"),
    "follow_up.passive": "Obrigado! O que faria você nos dar um 10?",
    "follow_up.promoter": "Que bom saber! Do que você mais gosta em nós?",
    "thank_you.negative": "Obrigado pelo seu feedback. Vamos usá-lo para melhorar.",
    "thank_you.neutral": "Obrigado pelo seu feedback! Ele nos ajuda a melhorar.",
    "thank_you.positive": "Muito obrigado! Ficamos felizes em ajudar.",
    "thank_you.detractor": "Obrigado pela sinceridade. Vamos usar o seu feedback para melhorar.",
    "thank_you.passive": (
        "Obrigado pelo seu feedback! Vamos continuar trabalhando para merecer esse 10."
    ),
    "thank_you.promoter": "Obrigado! Agradecemos muito o seu apoio.",
    "closed": "Esta pesquisa foi encerrada. Obrigado mesmo assim!",
    "reminder": "Um lembrete rápido: ainda gostaríamos muito de saber sua opinião.",
    "already_answered": "Obrigado, já recebemos a sua resposta.",
    "opted_out": (
        "Você não receberá mais pesquisas por aqui. Responda START para voltar a recebê-las."
    ),
    "opted_out.page": "Você não receberá mais pesquisas por aqui.",
    "opted_in": "Você voltou a receber pesquisas.",
    "help": (
        "Esta é uma pesquisa rápida de satisfação. Responda com um número ou envie STOP para"
        " cancelar."
    ),
    "ui.title": "Pesquisa rápida",
    "ui.send": "Enviar",
    "ui.placeholder": "Digite sua resposta…",
    "ui.skip": "Pular",
    "ui.ended": "Esta conversa foi encerrada. Você pode fechar esta página.",
    "ui.not_open": "Esta pesquisa ainda não está aberta.",
    "ui.link_invalid": "Este link é inválido ou expirou.",
    "ui.error": "Algo deu errado. Tente novamente.",
    "telegram.linked": "Obrigado! Este chat agora está conectado. Vamos enviar nossas pesquisas rápidas aqui; envie /stop a qualquer momento para cancelar.",
    "telegram.link_invalid": "Desculpe, este link não é válido. Peça um novo para nós.",
    "telegram.link_expired": "Desculpe, este link expirou. Peça um novo para nós.",
    "telegram.link_used": "Desculpe, este link já está conectado a outra conversa. Peça um novo para nós.",
    "telegram.about": "Olá! Este bot envia pesquisas rápidas para clientes. Para conectar este chat, abra o link que enviamos para você. Envie /stop para cancelar.",
}

FI: Final[Mapping[str, str]] = {
    "question.csat": "Kuinka tyytyväinen olet saamaasi tukeen?",
    "question.nps": "Kuinka todennäköisesti suosittelisit meitä ystävälle tai kollegalle?",
    "question.ces": "Kuinka samaa mieltä olet: asiani oli helppo saada ratkaistua.",
    "hint.scale": "Vastaa numerolla {low}-{high}.",
    "hint.scale_labels": "Vastaa numerolla {low} ({low_label}) - {high} ({high_label}).",
    "hint.skip": "{text} (tai vastaa OHITA)",
    "reprompt.no_score": (
        "Anteeksi, en löytänyt vastauksesta arvosanaa. Vastaa numerolla {low}-{high}."
    ),
    "reprompt.out_of_range": "Numero ei ole asteikolla. Vastaa numerolla {low}-{high}.",
    "reprompt.ambiguous": "Valitse vain yksi numero väliltä {low}-{high}.",
    "reprompt.empty": "Viestisi oli tyhjä. Vastaa numerolla.",
    "gave_up": "Ei haittaa, jätetään tähän. Kiitos ajastasi.",
    "reason.prompt": "Mikä oli tärkein syy? Valitse yksi:",
    "reason.reprompt": "Valitse jokin vaihtoehdoista tai vastaa sen numerolla.",
    "follow_up.negative": ("Ikävä kuulla. Mitä olisimme voineet tehdä paremmin?"),
    "follow_up.neutral": "Kiitos! Mikä olisi tehnyt kokemuksesta paremman?",
    "follow_up.positive": "Kiva kuulla! Mitä teimme hyvin?",
    "follow_up.detractor": "Ikävä kuulla. Mitä voisimme tehdä paremmin?",
    "follow_up.passive": ("Kiitos! Mitä tarvittaisiin, jotta antaisit meille 10?"),
    "follow_up.promoter": "Kiva kuulla! Mistä pidät meissä eniten?",
    "thank_you.negative": "Kiitos palautteestasi. Käytämme sitä toimintamme parantamiseen.",
    "thank_you.neutral": "Kiitos palautteestasi! Se auttaa meitä kehittymään.",
    "thank_you.positive": "Kiitos paljon! Kiva, että pystyimme auttamaan.",
    "thank_you.detractor": (
        "Kiitos rehellisyydestäsi. Käytämme palautettasi toimintamme parantamiseen."
    ),
    "thank_you.passive": "Kiitos palautteestasi! Teemme jatkossakin töitä ansaitaksemme kympin.",
    "thank_you.promoter": "Kiitos! Arvostamme tukeasi todella paljon.",
    "closed": "Tämä kysely on päättynyt. Kiitos silti!",
    "reminder": "Pieni muistutus: haluaisimme yhä kuulla mielipiteesi.",
    "already_answered": "Kiitos, olemme jo saaneet vastauksesi.",
    "opted_out": "Et saa täällä enää kyselyitä. Vastaa START, jos haluat ne takaisin.",
    "opted_out.page": "Et saa täällä enää kyselyitä.",
    "opted_in": "Saat taas kyselyitä.",
    "help": ("Tämä on lyhyt asiakaskysely. Vastaa numerolla. Jos et halua kyselyitä, lähetä STOP."),
    "ui.title": "Pikakysely",
    "ui.send": "Lähetä",
    "ui.placeholder": "Kirjoita vastauksesi…",
    "ui.skip": "Ohita",
    "ui.ended": "Keskustelu on päättynyt. Voit sulkea tämän sivun.",
    "ui.not_open": "Tämä kysely ei ole vielä avoinna.",
    "ui.link_invalid": "Linkki on virheellinen tai vanhentunut.",
    "ui.error": "Jokin meni vikaan. Yritä uudelleen.",
    "telegram.linked": "Kiitos! Tämä keskustelu on nyt yhdistetty. Lähetämme lyhyet kyselymme tänne; lähetä /stop milloin tahansa, jos haluat lopettaa.",
    "telegram.link_invalid": "Valitettavasti tämä linkki ei ole kelvollinen. Pyydä meiltä uusi.",
    "telegram.link_expired": "Valitettavasti tämä linkki on vanhentunut. Pyydä meiltä uusi.",
    "telegram.link_used": "Valitettavasti tämä linkki on jo yhdistetty toiseen keskusteluun. Pyydä meiltä uusi.",
    "telegram.about": "Hei! Tämä botti lähettää lyhyitä asiakaskyselyjä. Yhdistä tämä keskustelu avaamalla lähettämämme linkki. Lähetä /stop, jos haluat lopettaa.",
}
