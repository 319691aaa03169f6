"""`surveybot contacts`: load an audience of contacts from CSV; export or erase one contact."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import err, fail, load_settings, out, plural, progress_bar, run

if TYPE_CHECKING:
    from bot.imports.contacts import Checked, ImportResult, Layout
    from bot.runtime.settings import Settings

contacts_app = typer.Typer(help="Manage contacts (the people surveys go to).", no_args_is_help=True)

DELIMITER_NAMES = {"tab": "\t", "\\t": "\t"}


def _delimiter(value: str | None) -> str | None:
    if value is None:
        return None
    delimiter = DELIMITER_NAMES.get(value.lower(), value)
    if len(delimiter) != 1 or delimiter in '"\r\n' or delimiter.isalnum():
        fail(f"--delimiter must be one character such as ',' or ';', or 'tab'; got {value!r}")
    return delimiter


@contacts_app.command("import")
def import_contacts(
    file: Annotated[
        Path, typer.Argument(help="CSV with a header row: external_id[, name, email, phone, …]")
    ],
    delimiter: Annotated[
        str | None,
        typer.Option(help="',', ';' or 'tab' (default: guessed from the header row)"),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Check the file and count new and known contacts; write nothing"
        ),
    ] = False,
) -> None:
    """Create or update contacts from CSV: every row valid, or nothing imported.

    The file is UTF-8 (a BOM is fine) with a header row naming the columns.
    Cells are separated by , or ; or tabs (guessed from the header row).

    Columns (these names are matched in any case):
      external_id        required: your own id; a known id updates the contact
      name               the contact's name
      email              an email address
      phone              international format, e.g. +14155550123 (stored as E.164);
                         national ones too with SURVEYBOT_DEFAULT_PHONE_REGION set
      telegram_chat_id   the numeric Telegram chat id
      locale             a language tag, e.g. en, fi, pt-BR
      timezone           an IANA time zone, e.g. Europe/Helsinki
      any other column   a property, stored as text (e.g. plan, region, seats);
                         one named ..._date (e.g. renewal_date) holds ISO 8601
                         dates, e.g. 2027-05-31

    An empty cell keeps the stored value; properties merge with the stored ones.
    Values are checked exactly as POST /api/v1/contacts checks them.
    """
    if not file.is_file():
        fail(f"{file} does not exist or is not a file")
    separator = _delimiter(delimiter)
    from bot.contacts.schemas import phone_region

    settings = load_settings()
    stamp = _stamp(file)  # taken before the first pass: any change after it refuses the import
    # National numbers (no + and country code) are read as SURVEYBOT_DEFAULT_PHONE_REGION's.
    with phone_region(settings.default_phone_region):
        layout, checked = _check(file, separator)
        result = _write(settings, file, layout, checked, stamp=stamp, dry_run=dry_run)
    summary = (
        f"{plural(result.total, 'contact')}: {result.created} created, {result.updated} updated"
    )
    if dry_run:
        out.print(
            f"would import {summary} (dry run: nothing written)", highlight=False, soft_wrap=True
        )
    else:
        out.print(f"imported {summary}", highlight=False, soft_wrap=True)


def _check(file: Path, separator: str | None) -> tuple[Layout, Checked]:
    """Pass 1 with a progress bar; exits 1 naming the problems when any row is bad."""
    from bot.imports.contacts import (
        MAX_PROBLEMS_SHOWN,
        ContactFileError,
        check_file,
        estimate_rows,
        read_layout,
    )

    try:
        layout = read_layout(file, separator)
        with progress_bar() as progress:
            task = progress.add_task("checking rows", total=estimate_rows(file))
            checked = check_file(file, layout, progress=lambda n: progress.advance(task, n))
    except ContactFileError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    if checked.bad_rows:
        hidden = checked.bad_rows - len(checked.problems)
        fail(
            f"nothing imported: {plural(checked.bad_rows, 'bad row')}"
            + (f" (the first {MAX_PROBLEMS_SHOWN} shown)" if hidden else "")
            + ":\n  "
            + "\n  ".join(checked.problems)
        )
    if not checked.rows:
        fail(f"nothing imported: {file} has a header row but no contacts")
    return layout, checked


def _write(
    settings: Settings,
    file: Path,
    layout: Layout,
    checked: Checked,
    *,
    stamp: tuple[int, int],
    dry_run: bool,
) -> ImportResult:
    """Pass 2 in one transaction, refused if the file changed since `stamp`; or the dry run."""
    from bot.imports.contacts import ContactFileError, ImportResult, count_existing, write_contacts
    from bot.runtime.database import database
    from storage.uow import UnitOfWork

    async def main() -> ImportResult:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                if dry_run:
                    known = await count_existing(uow, checked.ids)
                    return ImportResult(created=checked.rows - known, updated=known)
                with progress_bar() as progress:
                    task = progress.add_task("importing", total=checked.rows)
                    result = await write_contacts(
                        uow,
                        file,
                        layout,
                        expected_rows=checked.rows,
                        now=datetime.now(UTC),
                        progress=lambda n: progress.advance(task, n),
                    )
                if _stamp(file) != stamp:
                    raise ContactFileError(
                        f"{file} changed while it was being imported; nothing imported"
                    )
                await uow.commit()
                return result

    try:
        return run(main())
    except ContactFileError as exc:
        fail(str(exc))


ContactId = Annotated[str, typer.Argument(metavar="ID", help="The contact's external_id")]


@contacts_app.command("export")
def export_contact(
    external_id: ContactId,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write to this file (default: standard output)"
        ),
    ] = None,
) -> None:
    """Everything held about one contact as one JSON document: the record, opt-outs,
    invitations, transcript messages, responses and Telegram link claims."""
    from bot.errors import NotFound
    from bot.privacy.export import export_contact as export
    from bot.runtime.database import database
    from storage.uow import UnitOfWork

    settings = load_settings()

    async def main() -> str:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                document = await export(uow, external_id, now=datetime.now(UTC))
        return document.model_dump_json(indent=2) + "\n"

    try:
        text = run(main())
    except NotFound as exc:
        fail(exc.message)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"--output: cannot write {output}: {exc.strerror or exc}")
    err.print(f"exported contact {external_id!r} to {output}", soft_wrap=True)


@contacts_app.command("erase")
def erase_contact(
    external_id: ContactId,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Erase without asking for confirmation")
    ] = False,
) -> None:
    """Erase one contact's personal data from every table, in one transaction.

    Their scores stay as anonymous rows (reports keep counting them); their opt-outs stay
    honoured through a keyed hash of the address. This cannot be undone.
    """
    from bot.errors import NotFound
    from bot.invitations.suppression import Suppressions
    from bot.privacy.erase import erase_contact as erase
    from bot.runtime.database import database
    from bot.runtime.secret import secret_of
    from bot.wiring import registry
    from storage.uow import UnitOfWork

    if not yes and not sys.stdin.isatty():
        fail(
            "erasing cannot be undone and nobody is at a terminal to confirm it:"
            " add --yes to erase without being asked"
        )
    settings = load_settings()

    async def main() -> dict[str, int] | None:
        async with database(settings) as sessions:
            async with UnitOfWork(sessions) as uow:
                if await uow.contacts.get_by_external_id(external_id) is None:
                    raise NotFound(f"contact {external_id!r} does not exist")
            if not yes and not typer.confirm(
                f"Erase contact {external_id!r} and all their personal data? This cannot be undone",
                default=False,
            ):
                return None
            suppression = Suppressions.keyed_by(await secret_of(settings, sessions))
            async with UnitOfWork(sessions) as uow:
                counts = await erase(
                    uow,
                    external_id,
                    suppression=suppression,
                    channels=registry.infos(),
                    now=datetime.now(UTC),
                )
                await uow.commit()
                return counts

    try:
        counts = run(main())
    except NotFound as exc:
        fail(exc.message)
    if counts is None:
        fail("nothing erased")
    out.print(f"erased contact {external_id!r}:", soft_wrap=True)
    width = max(len(kind) for kind in counts)
    for kind, count in counts.items():
        out.print(f"  {kind.replace('_', ' '):<{width}}  {count}")


def _stamp(file: Path) -> tuple[int, int]:
    """What tells that a file changed: its size and modification time."""
    stat = file.stat()
    return stat.st_size, stat.st_mtime_ns
