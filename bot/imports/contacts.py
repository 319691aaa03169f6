"""Importing contacts from CSV: check every row, streaming, then upsert all in one transaction."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.contacts.schemas import ContactIn
from storage.repositories.contacts import CONTACT_FIELDS, field_lengths
from storage.uow import UnitOfWork

REQUIRED = "external_id"
FIELDS = CONTACT_FIELDS
DELIMITERS = (",", ";", "\t")
CHUNK_ROWS = 1000
MAX_PROBLEMS_SHOWN = 20


class ContactFileError(Exception):
    """Raised when the file cannot be read as a contacts CSV at all; the message is a sentence."""


@dataclass(frozen=True, slots=True)
class Layout:
    """How to read the file: its delimiter and its column names (fixed ones in lower case)."""

    delimiter: str
    columns: tuple[str, ...]


@dataclass(slots=True)
class Checked:
    """What the checking pass found; `ids` maps each external id to the line it is on."""

    rows: int = 0
    bad_rows: int = 0
    problems: list[str] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)

    def add_problem(self, problem: str) -> None:
        self.bad_rows += 1
        if len(self.problems) < MAX_PROBLEMS_SHOWN:
            self.problems.append(problem)


@dataclass(frozen=True, slots=True)
class ImportResult:
    created: int
    updated: int

    @property
    def total(self) -> int:
        return self.created + self.updated


def _lines(path: Path) -> Generator[str, None, None]:
    """The file's lines as text (a UTF-8 BOM dropped), naming the first line that is not UTF-8."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ContactFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ContactFileError(
                    f"{path} is not UTF-8 text: line {number} has the byte 0x{raw[exc.start]:02x}"
                    " (save it as UTF-8, e.g. “CSV UTF-8” in Excel)"
                ) from None


def _records(path: Path, delimiter: str) -> Generator[tuple[int, list[str]], None, None]:
    """(first line number, cells) of each non-blank record; quoted cells may span lines."""
    with closing(_lines(path)) as lines:
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        start = 1
        try:
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    yield start, cells
                start = reader.line_num + 1
        except csv.Error as exc:
            raise ContactFileError(
                f"{path} is not valid CSV in the row starting on line {start}: {exc}"
            ) from None


def sniff_delimiter(path: Path) -> str:
    """The most frequent of , ; and tab in the first non-blank line (the header); ',' if none."""
    with closing(_lines(path)) as lines:
        for line in lines:
            if line.strip():
                counts = {d: line.count(d) for d in DELIMITERS}
                best = max(DELIMITERS, key=lambda d: counts[d])
                return best if counts[best] else ","
    return ","


def read_layout(path: Path, delimiter: str | None = None) -> Layout:
    """Read the header row; raises ContactFileError for an empty file or a bad header."""
    delimiter = delimiter or sniff_delimiter(path)
    with closing(_records(path, delimiter)) as records:
        header = next(records, None)
    if header is None:
        raise ContactFileError(
            f"{path} is empty: it needs a header row naming an external_id column"
        )
    fixed = {REQUIRED, *FIELDS}
    columns = tuple(
        name.lower() if name.lower() in fixed else name for name in (c.strip() for c in header[1])
    )
    duplicates = sorted({name for name in columns if name and columns.count(name) > 1})
    if duplicates:
        raise ContactFileError(
            f"{path}: the header names {', '.join(duplicates)} more than once; rename or remove"
            " the duplicate column(s)"
        )
    if REQUIRED not in columns:
        shown = ", ".join(repr(c) for c in columns[:8]) + (", …" if len(columns) > 8 else "")
        raise ContactFileError(
            f"{path}: the header has no external_id column (it is required: each contact's id in"
            f" your system); columns read with delimiter {delimiter!r}: {shown}"
        )
    return Layout(delimiter=delimiter, columns=columns)


def _clip(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _describe(error: ErrorDetails, cells: dict[str, str]) -> str:
    loc = error["loc"]
    name = str(loc[0]) if loc else "row"
    if name == "properties" and len(loc) > 1:
        name = str(loc[1])  # a property's own problem (a bad date): its column
    message = error["msg"].removeprefix("Value error, ")
    value = cells.get(name)
    return f"{name} {_clip(value)!r}: {message}" if value is not None else f"{name}: {message}"


def read_contacts(path: Path, layout: Layout) -> Iterator[tuple[int, ContactIn | str]]:
    """Each data row as (line, contact), or (line, a sentence saying what is wrong with it)."""
    limits = field_lengths()
    with closing(_records(path, layout.delimiter)) as records:
        next(records, None)  # the header
        for line, cells in records:
            yield line, _contact(line, cells, layout.columns, limits)


def _contact(
    line: int, cells: list[str], columns: tuple[str, ...], limits: dict[str, int]
) -> ContactIn | str:
    """One row validated exactly as the API validates a contact, or what is wrong with it."""
    if len(cells) > len(columns):
        return f"line {line}: {len(cells)} values but the header has {len(columns)} columns"
    known: dict[str, str] = {}
    properties: dict[str, str] = {}
    for name, cell in zip(columns, cells, strict=False):  # missing trailing cells are empty
        value = cell.strip()
        if not value:
            continue
        if not name:
            return f"line {line}: a value under a column with no name in the header"
        if name == REQUIRED or name in FIELDS:
            known[name] = value
        else:
            properties[name] = value
    if REQUIRED not in known:
        return f"line {line}: external_id is empty"
    where = f"line {line} ({_clip(known[REQUIRED])})"
    try:
        contact = ContactIn.model_validate({**known, "properties": properties or None})
    except ValidationError as exc:
        cells_by_name = {**properties, **known}
        return f"{where}: " + "; ".join(_describe(e, cells_by_name) for e in exc.errors())
    too_long = [
        f"{name}: longer than {limits[name]} characters"
        for name, value in contact.fields().items()
        if name in limits and len(str(value)) > limits[name]
    ]
    return f"{where}: " + "; ".join(too_long) if too_long else contact


def check_file(
    path: Path, layout: Layout, *, progress: Callable[[int], None] = lambda _n: None
) -> Checked:
    """Pass 1: validate every row and find repeated external ids, keeping only the ids."""
    checked = Checked()
    for line, item in read_contacts(path, layout):
        checked.rows += 1
        progress(1)
        if isinstance(item, str):
            checked.add_problem(item)
            continue
        first = checked.ids.setdefault(item.external_id, line)
        if first != line:
            checked.add_problem(
                f"line {line}: external_id {_clip(item.external_id)!r} is already on line {first}"
            )
    return checked


def estimate_rows(path: Path) -> int:
    """An upper bound on the data rows, counted cheaply: physical lines minus the header."""
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return max(lines + (last != b"\n") - 1, 0)


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


async def count_existing(uow: UnitOfWork, ids: Iterable[str]) -> int:
    """How many of these external ids are contacts already (for a dry run)."""
    await uow.contacts.plan_each_query()
    existing = 0
    for batch in _batches(ids, CHUNK_ROWS):
        existing += await uow.contacts.count_existing(batch)
    return existing


async def write_contacts(
    uow: UnitOfWork,
    path: Path,
    layout: Layout,
    *,
    expected_rows: int,
    now: datetime,
    progress: Callable[[int], None] = lambda _n: None,
) -> ImportResult:
    """Pass 2: re-read the checked file and upsert it in chunks, in the caller's transaction."""
    await uow.contacts.plan_each_query()
    created = updated = rows = 0
    chunk: list[ContactIn] = []

    async def flush() -> None:
        nonlocal created, updated
        new, old = await uow.contacts.upsert_many(
            [(c.external_id, c.fields(), c.properties or {}) for c in chunk], now
        )
        created, updated = created + new, updated + old
        progress(len(chunk))
        chunk.clear()

    for _line, item in read_contacts(path, layout):
        rows += 1
        if isinstance(item, str) or rows > expected_rows:
            raise ContactFileError(f"{path} changed while it was being imported; nothing imported")
        chunk.append(item)
        if len(chunk) >= CHUNK_ROWS:
            await flush()
    if chunk:
        await flush()
    if rows != expected_rows:
        raise ContactFileError(f"{path} changed while it was being imported; nothing imported")
    return ImportResult(created=created, updated=updated)
