"""Polarity word lists per language: words of praise, of complaint, of thanks, and negations.

Written for survey comments about service and products, in dictionary forms (matching
lemmatises them like comments), comma-separated. Chinese lists hold both scripts. A multi-word
entry ("not work", "ei toimi") is a complaint as a whole, and its negation is not read again.
"""

from __future__ import annotations

POSITIVE: dict[str, str] = {
    "en": """good, great, excellent, amazing, awesome, fantastic, wonderful, perfect, love, lovely,
        happy, pleased, satisfied, helpful, friendly, kind, polite, patient, nice, quick, fast,
        easy, simple, smooth, clear, intuitive, efficient, professional, recommend, best,
        brilliant, superb, solved, resolved, fixed, appreciate, impressed, reliable, cheerful,
        outstanding, improvement, super, well done, no problem, courteous, responsive""",
    "fi": """hyvä, loistava, erinomainen, mahtava, upea, ystävällinen, kohtelias, mukava, kiva,
        kärsivällinen, nopea, helppo, helppokäyttöinen, selkeä, sujuva, toimiva, tyytyväinen,
        paras, suositella, asiantunteva, ratkaista, ratketa, avulias, täydellinen, onnistua,
        hienosti, kätevä, kiitettävä, huippu, joustava, ammattitaitoinen, hyvin""",
    "zh": """好, 不错, 满意, 滿意, 棒, 赞, 讚, 优秀, 優秀, 专业, 專業, 热情, 熱情, 耐心, 亲切, 親切,
        快, 及时, 及時, 方便, 简单, 簡單, 容易, 清楚, 实惠, 實惠, 划算, 劃算, 解决, 解決, 高效,
        靠谱, 靠譜, 喜欢, 喜歡, 推荐, 推薦, 完美, 周到, 贴心, 貼心, 给力, 給力, 迅速, 客气, 客氣,
        详细, 詳細, 直觉, 直覺, 顺利, 順利, 好用, 合理""",
    "es": """bueno, bien, excelente, genial, perfecto, estupendo, fantástico, maravilloso, amable,
        simpático, educado, paciente, encantador, rápido, fácil, sencillo, claro, intuitivo,
        eficiente, profesional, satisfecho, contento, recomendar, resolver, solucionar, mejor,
        eficaz, atento, agradable""",
    "fr": """bon, bien, excellent, parfait, super, génial, top, aimable, gentil, sympathique,
        souriant, patient, agréable, rapide, réactif, facile, simple, clair, intuitif, efficace,
        professionnel, satisfait, content, recommander, résoudre, résolu, régler, adorable,
        apprécier, impeccable, courtois, pratique""",
    "de": """gut, super, toll, klasse, prima, perfekt, ausgezeichnet, hervorragend, freundlich,
        nett, höflich, geduldig, hilfsbereit, schnell, flott, einfach, leicht, klar,
        verständlich, übersichtlich, kompetent, zufrieden, empfehlen, lösen, gelöst, erledigt,
        schön, angenehm, top, klappen, zuverlässig, spitze""",
    "pt": """bom, ótimo, excelente, perfeito, maravilhoso, legal, educado, simpático, gentil,
        atencioso, paciente, rápido, ágil, fácil, simples, claro, intuitivo, eficiente,
        profissional, satisfeito, recomendar, resolver, show, incrível, agradável, prestativo""",
}

NEGATIVE: dict[str, str] = {
    "en": """bad, poor, terrible, awful, horrible, worst, slow, rude, unhelpful, unfriendly,
        impolite, condescending, useless, broken, crash, error, bug, glitch, glitchy, fail,
        failure, disappointed, disappointing, frustrating, frustrated, annoying, angry,
        complicated, confusing, difficult, expensive, overpriced, waste, unacceptable,
        ridiculous, complaint, complain, wait, forever, freeze, not work, rip-off, mess,
        nightmare, unprofessional, dismissive, late, delay""",
    "fi": """huono, surkea, kamala, hirveä, kauhea, hidas, tyly, töykeä, epäkohtelias,
        ylimielinen, kallis, virhe, kaatua, jumittaa, bugi, vaikea, sekava, monimutkainen,
        pettynyt, pettymys, turhauttava, jonottaa, epäonnistua, rikki, valittaa,
        ärsyttävä, ei toimi, kehno""",
    "zh": """差, 坏, 壞, 糟糕, 慢, 贵, 貴, 失望, 垃圾, 烂, 爛, 难用, 難用, 麻烦, 麻煩, 复杂, 複雜, 乱, 亂,
        闪退, 閃退, 报错, 報錯, 当机, 當機, 卡, 卡住, 卡死, 不耐烦, 不耐煩, 没礼貌, 沒禮貌, 投诉,
        投訴, 坑, 极差, 極差, 生气, 生氣, 错误, 錯誤, 夸张, 誇張, 断线, 斷線, 不稳定, 不穩定,
        用不了, 打不开, 打不開, 挑剔, 抱怨, 敷衍, 太久""",
    "es": """malo, mal, pésimo, horrible, terrible, fatal, lento, caro, grosero, maleducado,
        mal educado, borde, antipático, error, fallo, fallar, complicado, difícil, confuso,
        decepcionado, decepción, vergonzoso, inaceptable, queja, quejar, tardar,
        retraso, lío, desastre, no funciona, reclamar""",
    "fr": """mauvais, mal, nul, horrible, catastrophique, catastrophe, lent, cher, impoli,
        désagréable, méprisant, agressif, condescendant, erreur, bug, planter, échouer,
        compliqué, difficile, déçu, décevant, inadmissible, inacceptable, attendre, plainte,
        plaindre, ne marche pas, ne fonctionne pas, lamentable""",
    "de": """schlecht, schlimm, furchtbar, schrecklich, katastrophe, katastrophal, langsam,
        teuer, unfreundlich, unhöflich, frech, arrogant, herablassend, unverschämt, fehler,
        absturz, abstürzen, kompliziert, umständlich, unübersichtlich, schwierig, enttäuscht,
        enttäuschend, ärgerlich, abzocke, warten, warteschleife, ewig, beschwerde, beschweren,
        funktioniert nicht, mangelhaft""",
    "pt": """ruim, péssimo, horrível, terrível, lento, demorado, demorar, caro, grosseiro, grosso,
        mal-educado, erro, travar, falhar, complicado, difícil, confuso, decepcionado, descaso,
        reclamar, absurdo, vergonha, não funciona, atrasado""",
}

# Thanks count half: a polite "thanks" closes many complaints too.
POLITE: dict[str, str] = {
    "en": "thanks, thank, cheers",
    "fi": "kiitos, kiittää",
    "zh": "谢谢, 謝謝, 感谢, 感謝, 辛苦",
    "es": "gracias, agradecer",
    "fr": "merci, remercier",
    "de": "danke, dank, bedanken",
    "pt": "obrigado, obrigada, valeu, agradecer",
}

# Words of a wish or a condition: praise next to them is what was missing ("would have been
# nice to get an email"), so it does not count.
IRREALIS: dict[str, str] = {
    "en": "would, could, should, wish",
    "fi": "olisi, olisivat, voisi, pitäisi, toivoisin",
    "zh": "要是, 如果, 希望, 最好, 建议, 建議",
    "es": "sería, estaría, podría, debería, gustaría, ojalá",
    "fr": "aurait, serait, pourrait, devrait, aimerais, souhaiterais",
    "de": "wäre, wären, hätte, würde, könnte, sollte, wünschte",
    "pt": "seria, estaria, poderia, deveria, gostaria, tomara",
}

NEGATORS: dict[str, str] = {
    "en": "not, no, never, without, nothing, nobody, none, hardly",
    "fi": "ei, en, et, emme, ette, eivät, eikä, ilman",
    "zh": "不, 没, 沒, 别, 別, 无, 無, 未",
    "es": "no, nunca, sin, nada, ni, jamás, tampoco, nadie",
    "fr": "pas, jamais, sans, rien, aucun, aucune, ni",
    "de": "nicht, kein, keine, nie, niemals, ohne, nichts, niemand",
    "pt": "não, nunca, sem, nada, nem, jamais, ninguém",
}


def entries(listed: str) -> tuple[str, ...]:
    """The entries of one comma-separated list."""
    return tuple(entry.strip() for entry in listed.split(",") if entry.strip())
