"""The instance's name and colour (SURVEYBOT_BRAND_*) as the pages and the emails show them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.runtime.settings import Settings
from surveys.texts import builtin

if TYPE_CHECKING:
    from channels.email import Look

DARK_TEXT = "#1b1f24"
LIGHT_TEXT = "#ffffff"


def _luminance(color: str) -> float:
    """WCAG 2 relative luminance of a #rrggbb colour."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (1 to 21)."""
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def text_on(color: str) -> str:
    """White or near-black, whichever reads better on `color`."""
    return max((LIGHT_TEXT, DARK_TEXT), key=lambda text: contrast(color, text))


@dataclass(frozen=True, slots=True)
class Brand:
    """The configured name and accent colour; either may be unset (the built-in look stays)."""

    name: str | None = None
    color: str | None = None

    @classmethod
    def of(cls, settings: Settings) -> Brand:
        return cls(name=settings.brand_name, color=settings.brand_color)

    def title(self, locale: str | None, default_locale: str = "en") -> str:
        """A page's title: the instance's name, else "Quick survey" in the reader's language."""
        return self.name or builtin("ui.title", locale, default_locale)

    def css(self) -> str:
        """Rules appended to a page's stylesheet (the pages' policy allows no inline styles);
        after the dark-theme rules, so the one colour holds in both themes."""
        if self.color is None:
            return ""
        on = text_on(self.color)
        return (
            "\n/* SURVEYBOT_BRAND_COLOR */\n"
            f":root {{ --accent: {self.color}; --accent-fg: {on}; "
            f"--in-bg: {self.color}; --in-fg: {on}; }}\n"
        )

    def look(self) -> Look:
        """How the emails carry it."""
        from channels.email import Look  # imports aiosmtplib: only where emails are made

        if self.color is None:
            return Look(name=self.name)
        return Look(name=self.name, accent=self.color, on_accent=text_on(self.color))


PLAIN = Brand()  # no name, no colour: the built-in look
