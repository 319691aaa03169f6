"""What a help-desk note says about a response: its text, its tags and the marker that finds it."""

from __future__ import annotations

from dataclasses import dataclass

from storage.models import Response
from surveys.definitions import Survey

MARKER_PREFIX = "surveybot-"


@dataclass(frozen=True, slots=True)
class Note:
    """An internal note for one response: plain text, and the tags that go with it."""

    text: str
    tags: tuple[str, ...]


def marker(invitation_id: str) -> str:
    """The token every note carries that names its response (one response per invitation, and
    invitation ids are unique across databases), so that a retry can find a note already written."""
    return MARKER_PREFIX + invitation_id


def note_of(survey: Survey, response: Response, *, invitation_id: str, timeline_url: str) -> Note:
    """The note: the score on its scale with its band, the reason and comment, the channel, the
    timeline's link and the marker; tagged `<metric>_<score>` and `<metric>_<band>`."""
    metric = survey.metric.value
    band = survey.band(response.score)
    lines = [
        f"Survey answer ({survey.key}): {response.score} on a scale of"
        f" {survey.low}-{survey.high} ({metric.upper()}), {band}",
    ]
    if response.reason:
        lines.append(f"Reason: {response.reason}")
    lines.append(f"Comment: {response.comment}" if response.comment else "Comment: none given")
    lines.append(f"Channel: {response.channel}")
    lines.append(f"Timeline: {timeline_url}")
    lines.append(f"Ref: {marker(invitation_id)}")
    return Note(text="\n".join(lines), tags=(f"{metric}_{response.score}", f"{metric}_{band}"))
