"""Survey definitions from YAML files, loaded into the database all or none.

A problem is told as "FILE: survey 'KEY': FIELD: what is wrong", in plain words: surveys by
their key (or their place in the file when they have none), fields by name.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import ServiceError
from bot.runtime.survey_saving import save_survey
from channels.base import ChannelInfo
from storage.uow import UnitOfWork
from surveys.definitions import Survey, SurveyFile

_FIELDS = tuple(Survey.model_fields)
_LOCALIZED = "should be a text, or a mapping of locale to text (en: ..., fi: ...)"
# What a field that takes one of several forms should be, told once instead of once per form.
_FORMS = {
    "question": _LOCALIZED,
    "low": _LOCALIZED,
    "high": _LOCALIZED,
    "reasons": _LOCALIZED,
    "placeholders": _LOCALIZED,
    "follow_up": (
        "should be a text, a mapping of locale to text, or a mapping of band to text"
        " (negative: ..., positive: ...)"
    ),
    "quiet_hours": 'should map channels to ["HH:MM", "HH:MM"] windows, e.g. sms: ["09:00", "20:00"]',
    "scale": "should be [low, high], e.g. [1, 5]",
}
_FORMS["thank_you"] = _FORMS["follow_up"]
_WORDS = {
    "missing": "is required",
    "string_type": "should be a text",
    "dict_type": "should be a mapping",
    "list_type": "should be a list",
    "int_type": "should be a whole number",
    "int_parsing": "should be a whole number",
    "float_parsing": "should be a number",
    "bool_parsing": "should be true or false",
}
_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "none"})
_SUBJECTS = frozenset({"Input", "String", "List", "Dictionary", "Tuple", "Value"})


class SurveyFileError(Exception):
    """Raised when a survey YAML file cannot be read or does not have the survey shape."""


def read_survey_file(path: Path) -> list[Survey]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SurveyFileError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise SurveyFileError(f"{path} is not valid YAML: {exc}") from exc
    try:
        return SurveyFile.model_validate(data).surveys
    except ValidationError as exc:
        raise SurveyFileError(f"{path}: {'; '.join(problems(exc, data))}") from exc


def problems(exc: ValidationError, data: Any) -> list[str]:
    """The file's validation errors in plain words, one per survey field (see the docstring)."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for error in exc.errors():
        grouped.setdefault(_where(tuple(error["loc"]), data), []).append(dict(error))
    return [_sentence(where, field, errors) for (where, field), errors in grouped.items()]


def _where(loc: tuple[Any, ...], data: Any) -> tuple[str, str]:
    """(the survey, the field) an error's location names; both may be empty (the file itself)."""
    if len(loc) < 2 or loc[0] != "surveys" or not isinstance(loc[1], int):
        return "", ""
    index = loc[1]
    listed = data.get("surveys") if isinstance(data, dict) else None
    raw = listed[index] if isinstance(listed, list) and index < len(listed) else None
    key = raw.get("key") if isinstance(raw, dict) else None
    survey = f"survey {key!r}" if isinstance(key, str) and key else f"survey {index + 1} (no key)"
    field = ""
    for part in loc[2:]:
        if isinstance(part, int):
            field += f" item {part + 1}"
        elif part in _TYPE_NAMES or "[" in part:
            continue  # pydantic's name for one form of a field that takes several
        else:
            field += f".{part}" if field else part
    return survey, field


def _sentence(where: str, field: str, errors: Sequence[dict[str, Any]]) -> str:
    if not where:
        return _file_problem(errors[0])
    words = [_words(error, field) for error in errors]
    if len(set(words)) > 1:  # one error per form the field could take
        last = field.split(".")[-1].split(" ")[0]
        said = _FORMS.get(last) or _FORMS.get(_base(field)) or " or ".join(dict.fromkeys(words))
    else:
        said = words[0]
    return f"{where}: {field}: {said}" if field else f"{where}: {said}"


def _words(error: dict[str, Any], field: str) -> str:
    kind, message = error["type"], str(error["msg"])
    if kind == "extra_forbidden":
        if "." in field:
            return "is not a field here"
        close = difflib.get_close_matches(field, _FIELDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"is not a survey field{hint}"
    if kind in _WORDS:
        return _WORDS[kind]
    if kind == "string_pattern_mismatch" and field == "key":
        return "use letters, digits, '.', '_' and '-' (up to 64, starting with a letter or digit)"
    if kind == "string_pattern_mismatch" and _base(field) == "placeholders":
        return "a placeholder's name is letters, digits and '_' (as in {agent_name})"
    if kind == "model_type":
        return "should be a mapping of survey fields (key: ..., metric: ...)"
    if kind == "tuple_type" and _FORMS.get(_base(field)):
        return _FORMS[_base(field)]
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    subject, _, rest = message.partition(" ")
    if subject in _SUBJECTS and rest.startswith("should "):
        message = rest.replace(" after validation", "")  # "Input should be …" → "should be …"
    return message


def _base(field: str) -> str:
    """The survey field a path starts with: "quiet_hours" of "quiet_hours.sms"."""
    return field.split(".")[0].split(" ")[0]


def _file_problem(error: dict[str, Any]) -> str:
    if error["type"] == "missing" or error["type"] == "model_type":
        return "the file should hold a `surveys:` list of surveys"
    if error["type"] == "too_short":
        return "the `surveys:` list is empty"
    if error["type"] == "extra_forbidden":
        return f"{error['loc'][-1]!r} is not known at the top of the file (only `surveys:` is)"
    return "`surveys:` should be a list of surveys"


async def load_surveys(
    sessions: async_sessionmaker[AsyncSession],
    surveys: list[Survey],
    *,
    channels: Sequence[ChannelInfo] | None = None,
    source: Path | str | None = None,
) -> list[tuple[str, bool]]:
    """Create or update surveys in one transaction; returns (key, created) per survey.

    A survey refused (an unknown channel, a scale its answers forbid changing) raises
    SurveyFileError naming `source` and the survey, and nothing is saved.
    """
    async with UnitOfWork(sessions) as uow:
        results = []
        for survey in surveys:
            try:
                _, created = await save_survey(uow, survey, channels=channels)
            except ServiceError as exc:
                prefix = f"{source}: " if source is not None else ""
                raise SurveyFileError(f"{prefix}survey {survey.key!r}: {exc.message}") from exc
            results.append((survey.key, created))
        await uow.commit()
    return results
