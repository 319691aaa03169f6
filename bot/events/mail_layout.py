"""The layout of operator mail: HTML of tables and inline styles, and plain text to match.

What common mail clients show alike (Gmail, Outlook, Apple Mail): no stylesheet, no script, no
image, no SVG; each block is one row of a 600-pixel table. Functions take plain text and return
markup, so no caller writes HTML by hand.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Sequence

FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
TEXT = "#1f2328"
MUTED = "#57606a"
LINE = "#d0d7de"
ACCENT = "#1a56db"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _cell(style: str, inner: str) -> str:
    return f'<tr><td style="padding:{style};font-family:{FONT};color:{TEXT};">{inner}</td></tr>'


def document(title: str, blocks: Sequence[str], *, footer: str | None = None) -> str:
    """A whole message: the blocks on a white card, a muted footer line under it."""
    below = ""
    if footer:
        below = (
            f'<tr><td align="center" style="padding:14px 24px;font-family:{FONT};'
            f'font-size:12px;line-height:1.4;color:{MUTED};">{_e(footer)}</td></tr>'
        )
    table = '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"'
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light">'
        f"<title>{_e(title)}</title></head>"
        '<body style="margin:0;padding:0;background:#f3f4f6;">'
        f'{table} style="background:#f3f4f6;"><tr><td align="center" style="padding:24px 12px;">'
        f'{table} style="max-width:600px;background:#ffffff;border:1px solid #e5e7eb;'
        f'border-radius:8px;">{"".join(blocks)}</table>'
        f'{table} style="max-width:600px;">{below}</table>'
        "</td></tr></table></body></html>"
    )


def heading(text: str, *, size: int = 20) -> str:
    return _cell(
        "22px 24px 6px",
        f'<div style="font-size:{size}px;line-height:1.3;font-weight:bold;">{_e(text)}</div>',
    )


def subheading(text: str) -> str:
    return _cell(
        "18px 24px 4px",
        f'<div style="font-size:15px;font-weight:bold;border-bottom:1px solid {LINE};'
        f'padding-bottom:4px;">{_e(text)}</div>',
    )


def paragraph(text: str, *, muted: bool = False, strong: bool = False) -> str:
    color = MUTED if muted else TEXT
    weight = "bold" if strong else "normal"
    lines = "<br>".join(_e(line) for line in text.strip().splitlines())
    return _cell(
        "6px 24px",
        f'<div style="font-size:14px;line-height:1.5;color:{color};font-weight:{weight};">'
        f"{lines}</div>",
    )


def facts(rows: Sequence[tuple[str, str]]) -> str:
    """Label and value pairs, one per line, labels muted on the left."""
    body = "".join(
        f'<tr><td valign="top" style="padding:3px 12px 3px 0;font-family:{FONT};font-size:14px;'
        f'color:{MUTED};white-space:nowrap;">{_e(label)}</td>'
        f'<td valign="top" style="padding:3px 0;font-family:{FONT};font-size:14px;'
        f'color:{TEXT};">{_e(value)}</td></tr>'
        for label, value in rows
    )
    return _cell(
        "6px 24px",
        f'<table role="presentation" cellpadding="0" cellspacing="0" border="0">{body}</table>',
    )


def grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table of figures with a header row; numbers line up on the right."""
    cell = f"padding:5px 8px;font-family:{FONT};font-size:13px;border-bottom:1px solid {LINE};"

    def align(i: int) -> str:
        return "left" if i == 0 else "right"

    head = "".join(
        f'<th align="{align(i)}" style="{cell}color:{MUTED};font-weight:bold;">{_e(h)}</th>'
        for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td align="{align(i)}" style="{cell}color:{TEXT};">{_e(v)}</td>'
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return _cell(
        "6px 16px",
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="border-collapse:collapse;"><tr>{head}</tr>{body}</table>',
    )


def quote(text: str, *, by: str | None = None) -> str:
    """A comment as the customer wrote it, with who and when under it."""
    lines = "<br>".join(_e(line) for line in text.strip().splitlines())
    credit = (
        f'<div style="font-size:12px;color:{MUTED};padding-top:3px;">{_e(by)}</div>' if by else ""
    )
    return _cell(
        "6px 24px",
        f'<div style="border-left:3px solid {LINE};padding:2px 0 2px 10px;font-size:14px;'
        f'line-height:1.5;">{lines}{credit}</div>',
    )


def button(url: str, label: str) -> str:
    return _cell(
        "14px 24px 22px",
        f'<a href="{_e(url)}" style="display:inline-block;padding:10px 16px;border-radius:6px;'
        f"background:{ACCENT};color:#ffffff;font-family:{FONT};font-size:14px;"
        f'font-weight:bold;text-decoration:none;">{_e(label)}</a>',
    )


def text_facts(rows: Sequence[tuple[str, str]], *, width: int = 78) -> list[str]:
    """Label and value pairs as plain-text lines, values aligned and wrapped under themselves."""
    column = max((len(label) for label, _ in rows), default=0) + 2
    lines: list[str] = []
    for label, value in rows:
        lines += textwrap.wrap(
            value,
            width=width,
            initial_indent=f"{label + ':':<{column}}",
            subsequent_indent=" " * column,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [label + ":"]
    return lines
