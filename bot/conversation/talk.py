"""Turn a survey, a contact and an invitation into the localised messages the engine sends."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from channels.base import ChannelInfo, Choice, OutboundMessage
from storage.records import ContactView, InvitationView
from surveys import placeholders
from surveys.definitions import Band, LocalizedText, Survey
from surveys.texts import builtin, pick, render


@lru_cache(maxsize=16)
def _scale(low: int, high: int) -> tuple[Choice, ...]:
    return tuple(Choice(str(n), str(n)) for n in range(low, high + 1))


@dataclass(frozen=True, slots=True)
class Talk:
    """Everything needed to word a message for one conversation."""

    survey: Survey
    locale: str | None
    values: dict[str, Any]
    channel: str
    address: str
    max_text: int | None = None  # the channel's limit: longer texts are cut to fit
    # Where the reply is read: with buttons no text says "reply SKIP"; on a page (a channel
    # without an address) nobody can "reply START" later.
    buttons: bool = False
    replies: bool = True

    @classmethod
    def of(
        cls,
        survey: Survey,
        contact: ContactView,
        invitation: InvitationView,
        address: str,
        *,
        max_text: int | None = None,
        info: ChannelInfo | None = None,
        channel: str | None = None,
    ) -> Talk:
        """The wording for a conversation; `info` describes the channel the reply is shown on,
        `channel` the one a send goes out on when not the invitation's (a reminder's own)."""
        locale = invitation.locale or contact.locale
        values = placeholders.values(
            survey,
            contact=contact.properties,
            trigger=invitation.properties,
            name=contact.name,
            locale=locale,
        )
        return cls(
            survey=survey,
            locale=locale,
            values=values,
            channel=channel or invitation.channel,
            address=address,
            max_text=max_text if info is None else info.max_text,
            buttons=info is not None and info.buttons,
            replies=info is None or info.reaches_by_itself,
        )

    def builtin(self, key: str, **extra: Any) -> str:
        return render(
            builtin(key, self.locale, self.survey.default_locale), {**self.values, **extra}
        )

    def authored(self, text: LocalizedText | None, fallback_key: str) -> str:
        """The survey author's text if there is one, else the built-in text."""
        if text is None:
            return self.builtin(fallback_key)
        return render(pick(text, self.locale, self.survey.default_locale), self.values)

    def message(self, text: str, **kwargs: Any) -> OutboundMessage:
        if self.max_text is not None and len(text) > self.max_text:
            text = text[: self.max_text - 1] + "…"
        return OutboundMessage(channel=self.channel, address=self.address, text=text, **kwargs)

    def scale_labels(self) -> tuple[str, str] | None:
        labels = self.survey.labels
        if labels is None:
            return None
        return (
            render(pick(labels.low, self.locale, self.survey.default_locale), self.values),
            render(pick(labels.high, self.locale, self.survey.default_locale), self.values),
        )

    def scale_hint(self) -> str:
        labels = self.scale_labels()
        if labels is None:
            return self.builtin("hint.scale")
        return self.builtin("hint.scale_labels", low_label=labels[0], high_label=labels[1])

    def scale_choices(self) -> tuple[Choice, ...]:
        return _scale(self.survey.low, self.survey.high)

    def question(self, *, link: str | None = None) -> OutboundMessage:
        text = self.authored(self.survey.question, f"question.{self.survey.metric.value}")
        return self.message(
            text,
            choices=self.scale_choices(),
            choices_hint=self.scale_hint(),
            labels=self.scale_labels(),
            link=link,
        )

    def reminder(self) -> OutboundMessage:
        """The question again, opened with a line saying it is a reminder."""
        question = self.question()
        return self.message(
            f"{self.builtin('reminder')}\n{question.text}",
            choices=question.choices,
            choices_hint=question.choices_hint,
            labels=question.labels,
        )

    def reprompt(self, problem: str | None) -> OutboundMessage:
        key = (
            f"reprompt.{problem}"
            if problem in ("out_of_range", "ambiguous", "empty")
            else "reprompt.no_score"
        )
        return self.message(
            self.builtin(key),
            choices=self.scale_choices(),
            choices_hint=self.scale_hint(),
            labels=self.scale_labels(),
        )

    def reasons(self) -> list[str]:
        return [
            render(pick(r, self.locale, self.survey.default_locale), self.values)
            for r in self.survey.reasons
        ]

    def reason_prompt(self, *, again: bool = False) -> OutboundMessage:
        reasons = self.reasons()
        listing = "\n".join(f"{i}. {r}" for i, r in enumerate(reasons, start=1))
        head = self.builtin("reason.reprompt" if again else "reason.prompt")
        return self.message(
            f"{head}\n{listing}",
            choices=tuple(Choice(r, r) for r in reasons),
        )

    def follow_up(self, band: Band) -> OutboundMessage:
        text = self.survey.band_text(self.survey.follow_up, band)
        worded = self.authored(text, f"follow_up.{band}")
        if text is None and not self.buttons:  # the built-in text; the author words their own
            worded = self.builtin("hint.skip", text=worded)
        return self.message(worded, choices=self.skip_choices())

    def skip_choices(self) -> tuple[Choice, ...]:
        """The Skip button: pressing it sends the word in the reader's language, which skips."""
        word = self.builtin("ui.skip")
        return (Choice(word, word),)

    def thank_you(self, band: Band) -> OutboundMessage:
        text = self.survey.band_text(self.survey.thank_you, band)
        return self.message(self.authored(text, f"thank_you.{band}"))

    def plain(self, key: str) -> OutboundMessage:
        if key == "opted_out" and not self.replies:
            key = "opted_out.page"
        return self.message(self.builtin(key))
