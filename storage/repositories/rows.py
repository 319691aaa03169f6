"""A loaded row's column values and what changed in them, for writes without the ORM's flush.

A conversation turn is written this way (`InvitationRepository.write_turn`): on the path every
answer takes, the ORM's unit of work costs more CPU than the statements it sends.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table, Update, bindparam
from sqlmodel import SQLModel


def values_of(row: SQLModel) -> dict[str, Any]:
    """The row's value in each column of its table."""
    # Loaded values live in the instance's __dict__: read there, not through each attribute.
    loaded = row.__dict__
    return {key: loaded[key] if key in loaded else getattr(row, key) for key in _columns(type(row))}


@cache
def _columns(model: type[SQLModel]) -> tuple[str, ...]:
    table: Any = model.__table__  # every table model has one
    return tuple(column.key for column in table.columns)


def changed(row: SQLModel, before: dict[str, Any]) -> dict[str, Any]:
    """The columns whose value differs from `before` (an earlier `values_of(row)`)."""
    return {key: value for key, value in values_of(row).items() if value != before[key]}


@cache
def update_by_id(table: Table) -> Update:
    """UPDATE `table` of the row whose id is the parameter `b_id`, setting the columns named by
    the other parameters (built once: compiled once per set of columns)."""
    return table.update().where(table.c.id == bindparam("b_id"))
