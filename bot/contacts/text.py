"""Text surveybot can store: no NUL characters, no unpaired surrogates (PostgreSQL takes neither).

Callers who describe data (the API, CSV files, webhooks) are refused with the field named; a
customer's own message is kept with those characters taken out.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

# NUL, and UTF-16 surrogate halves: a JSON "\ud800" escape decodes to one, and it has no UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "must not contain NUL characters or unpaired surrogates"


def storable(value: str) -> str:
    """A validator's check: `value` unchanged, or a `string_unstorable` error."""
    if _UNSTORABLE.search(value):
        raise PydanticCustomError("string_unstorable", UNSTORABLE_MESSAGE)
    return value


def strip_unstorable(value: str) -> str:
    """`value` without its NUL characters and unpaired surrogates."""
    return _UNSTORABLE.sub("", value) if _UNSTORABLE.search(value) else value


def unstorable_at(value: Any, loc: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Where in decoded JSON (dicts, lists, strings) the first unstorable string is, if any."""
    if isinstance(value, str):
        return loc if _UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _UNSTORABLE.search(key):
                return (*loc, key)
            found = unstorable_at(item, (*loc, key))
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = unstorable_at(item, (*loc, index))
            if found is not None:
                return found
    return None


# A request's string field is refused (422, the field named) when it holds what cannot be
# stored: `Text`, or `Annotated[str, Field(max_length=N), Storable]` where a length is set too
# (constraints before the check, so that pydantic words their errors as for any string).
Storable = AfterValidator(storable)
Text = Annotated[str, Storable]


def _stripped(value: Any) -> Any:
    return strip_unstorable(value) if isinstance(value, str) else value


# A customer's own words: kept, without those characters (taken out before length checks).
CustomerText = Annotated[str, BeforeValidator(_stripped)]
