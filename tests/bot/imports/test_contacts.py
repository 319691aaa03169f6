"""`surveybot contacts import` as a user runs it, on SQLite and PostgreSQL: all or nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.contacts.schemas import ContactIn
from bot.imports.contacts import ContactFileError, check_file, read_layout, write_contacts
from bot.runtime.database import open_database
from storage.models import Contact
from storage.uow import UnitOfWork
from tests.conftest import make_settings

runner = CliRunner()

REALISTIC = """\
external_id,name,email,phone,telegram_chat_id,locale,timezone,plan,region,seats
acme-001,Aino Virtanen,aino@example.fi,+358 40 123 4567,,fi-FI,Europe/Helsinki,enterprise,EU,250
acme-002,"Smith, John",John.Smith@Example.COM,+1 (415) 555-0123,,en_US,America/Los_Angeles,pro,NA,12
acme-003,田中 花子,,+81 3-1234-5678,123456789,ja,Asia/Tokyo,free,APAC,
acme-004,Zoë Müller,zoe@example.de,+49 30 901820,,de,Europe/Berlin,pro,,3
"""


def write(tmp_path: Path, text: str, name: str = "contacts.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def invoke(url: str, *args: str) -> tuple[int, str, str]:
    """Run `surveybot contacts import …`; stderr comes back with Rich's line wrapping undone."""
    result = runner.invoke(app, ["contacts", "import", *args], env={"SURVEYBOT_DATABASE_URL": url})
    return result.exit_code, result.stdout.strip(), " ".join(result.stderr.split())


async def _read(url: str, ids: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    engine, sessions = await open_database(make_settings(url))
    try:
        async with UnitOfWork(sessions) as uow:
            if ids:
                found = [await uow.contacts.get_by_external_id(i) for i in ids]
                rows = [c for c in found if c is not None]
            else:
                rows = list((await uow.session.execute(select(Contact))).scalars())
            return {c.external_id: c.model_dump(exclude={"id"}) for c in rows}
    finally:
        await engine.dispose()


def stored(url: str, *ids: str) -> dict[str, dict[str, Any]]:
    """The named contacts (or all of them) as stored, read back through the unit of work."""
    return asyncio.run(_read(url, ids))


async def _count(url: str) -> int:
    engine, sessions = await open_database(make_settings(url))
    try:
        async with UnitOfWork(sessions) as uow:
            return (
                await uow.session.execute(select(func.count()).select_from(Contact))
            ).scalar_one()
    finally:
        await engine.dispose()


async def _upsert_like_the_api(url: str, *contacts: ContactIn) -> None:
    engine, sessions = await open_database(make_settings(url))
    try:
        async with UnitOfWork(sessions) as uow:
            for contact in contacts:
                await uow.contacts.upsert(contact.external_id, contact.fields(), contact.properties)
            await uow.commit()
    finally:
        await engine.dispose()


def upsert_like_the_api(url: str, *contacts: ContactIn) -> None:
    asyncio.run(_upsert_like_the_api(url, *contacts))


def test_help_documents_the_columns(database_url: str) -> None:
    code, out, _ = invoke(database_url, "--help")
    assert code == 0
    for words in ("external_id", "required", "telegram_chat_id", "E.164", "IANA", "property"):
        assert words in out
    assert "--dry-run" in out and "--delimiter" in out


def test_realistic_file_creates_contacts(database_url: str, tmp_path: Path) -> None:
    code, out, err = invoke(database_url, str(write(tmp_path, REALISTIC)))
    assert code == 0, err
    assert out == "imported 4 contacts: 4 created, 0 updated"
    rows = stored(database_url)
    assert set(rows) == {"acme-001", "acme-002", "acme-003", "acme-004"}
    aino, john, hanako, zoe = (rows[f"acme-00{i}"] for i in range(1, 5))
    assert (aino["phone"], aino["locale"], aino["timezone"]) == (
        "+358401234567",
        "fi",
        "Europe/Helsinki",
    )
    assert aino["properties"] == {"plan": "enterprise", "region": "EU", "seats": "250"}
    assert (john["name"], john["email"], john["phone"], john["locale"]) == (
        "Smith, John",
        "John.Smith@example.com",
        "+14155550123",
        "en",
    )
    # empty cells are omitted: no email, no "seats": ""
    assert hanako["email"] is None and hanako["telegram_chat_id"] == "123456789"
    assert hanako["properties"] == {"plan": "free", "region": "APAC"}
    assert (hanako["name"], hanako["phone"]) == ("田中 花子", "+81312345678")
    assert zoe["properties"] == {"plan": "pro", "seats": "3"} and zoe["name"] == "Zoë Müller"
    assert aino["created_at"] == aino["updated_at"]
    assert aino["created_at"].tzinfo is not None


def test_reimport_updates_like_the_api(database_url: str, tmp_path: Path) -> None:
    """Given cells replace, empty cells keep, properties merge; unchanged rows are not touched."""
    seed = {
        "email": "kim@example.com",
        "phone": "+358401234567",
        "timezone": "Europe/Helsinki",
        "properties": {"plan": "free", "region": "EU", "owner": "sales"},
    }
    upsert_like_the_api(
        database_url,
        ContactIn(external_id="kim", name="Kim", **seed),
        ContactIn(external_id="kim-twin", name="Kim", **seed),
        ContactIn(external_id="same", name="Same", properties={"plan": "pro"}),
    )
    before = stored(database_url)
    path = write(
        tmp_path,
        "external_id,name,email,phone,timezone,plan,seats\n"
        "kim,Kim Lee,,+1 415 555 0123,,pro,10\n"
        "same,Same,,,,pro,\n"
        "new-1,New,new@example.com,,America/Chicago,trial,\n",
    )
    code, out, err = invoke(database_url, str(path))
    assert code == 0, err
    assert out == "imported 3 contacts: 1 created, 2 updated"
    # the API's upsert given the same row, for comparison
    upsert_like_the_api(
        database_url,
        ContactIn(
            external_id="kim-twin",
            name="Kim Lee",
            phone="+1 415 555 0123",
            properties={"plan": "pro", "seats": "10"},
        ),
    )
    after = stored(database_url)
    kim, twin = after["kim"], after["kim-twin"]
    assert kim["name"] == "Kim Lee" and kim["phone"] == "+14155550123"
    assert (kim["email"], kim["timezone"]) == ("kim@example.com", "Europe/Helsinki")  # kept
    assert kim["properties"] == {"plan": "pro", "region": "EU", "owner": "sales", "seats": "10"}
    skip = {"external_id", "created_at", "updated_at"}
    assert {k: v for k, v in kim.items() if k not in skip} == {
        k: v for k, v in twin.items() if k not in skip
    }
    assert kim["created_at"] == before["kim"]["created_at"]
    assert kim["updated_at"] > before["kim"]["updated_at"]
    assert after["same"] == before["same"]  # nothing changed, not even updated_at
    assert after["new-1"]["properties"] == {"plan": "trial"}
    assert after["new-1"]["timezone"] == "America/Chicago"


BAD_ROWS = """\
external_id,name,email,phone,timezone,telegram_chat_id,plan
ok-1,Ann,ann@example.com,+358 40 123 4567,Europe/Helsinki,,pro
bad-phone,Bob,,+1 555,,,
bad-email,Cid,cid@,,,,

bad-zone,Dee,,,Mars/Olympus,,
,Eve,eve@example.com,,,,
ok-2,"Two
lines",,,,,
ok-1,Ann again,,,,,
too-many,a,b,c,d,e,f,g
bad-chat,,,,,12345678901234567890123456789012345,
"""


def test_bad_rows_import_nothing_and_are_all_named(database_url: str, tmp_path: Path) -> None:
    invoke(database_url, str(write(tmp_path, REALISTIC)))
    before = stored(database_url)
    code, out, err = invoke(database_url, str(write(tmp_path, BAD_ROWS)))
    assert code == 1 and out == ""
    assert "nothing imported: 7 bad rows:" in err
    assert "line 3 (bad-phone): phone '+1 555': not a valid phone number" in err
    assert "line 4 (bad-email): email 'cid@': value is not a valid email address" in err
    assert "line 6 (bad-zone): timezone 'Mars/Olympus': not an IANA time zone" in err
    assert "line 7: external_id is empty" in err
    # line numbers count physical lines: the quoted cell on lines 8-9 takes two
    assert "line 10: external_id 'ok-1' is already on line 2" in err
    assert "line 11: 8 values but the header has 7 columns" in err
    assert "line 12 (bad-chat): telegram_chat_id '1234" in err
    assert "': longer than 32 characters" in err
    assert stored(database_url) == before

    many = "external_id,phone\n" + "".join(f"c{i},12\n" for i in range(25))
    code, _, err = invoke(database_url, str(write(tmp_path, many)))
    assert code == 1
    assert "nothing imported: 25 bad rows (the first 20 shown):" in err
    assert "line 21 (c19)" in err and "line 22" not in err
    assert stored(database_url) == before


def test_file_problems_are_sentences_and_change_nothing(database_url: str, tmp_path: Path) -> None:
    invoke(database_url, str(write(tmp_path, REALISTIC)))
    before = stored(database_url)
    latin1 = write(tmp_path, "external_id,name\nx,Ann\ny,Zoë\n", "latin1.csv", encoding="latin-1")
    cases: list[tuple[str, str | Path, str]] = [
        ("missing", tmp_path / "missing.csv", "missing.csv does not exist or is not a file"),
        ("a directory", tmp_path, "does not exist or is not a file"),
        ("empty", "", "is empty: it needs a header row naming an external_id column"),
        ("header only", "external_id,name\n", "has a header row but no contacts"),
        ("blank rows", "external_id,name\n\n , \n", "has a header row but no contacts"),
        (
            "no external_id",
            "id,name,email\n1,Ann,ann@example.com\n",
            "the header has no external_id column (it is required",
        ),
        (
            "same column twice",
            "external_id,plan,region,plan\nx,a,b,c\n",
            "names plan more than once",
        ),
        ("same in any case", "external_id,Email,email\nx,a@b.fi,a@b.fi\n", "names email more than"),
        ("latin-1", latin1, "is not UTF-8 text: line 3 has the byte 0xeb"),
        (
            "open quote",
            'external_id,name\nx,"Ann\n',
            "is not valid CSV in the row starting on line 2: unexpected end of data",
        ),
    ]
    for number, (label, content, sentence) in enumerate(cases):
        path = content if isinstance(content, Path) else write(tmp_path, content, f"{number}.csv")
        code, out, err = invoke(database_url, str(path))
        assert (code, out) == (1, ""), (label, err)
        assert err.startswith("error: ") and sentence in err, (label, err)
    code, out, err = invoke(database_url, str(write(tmp_path, REALISTIC)), "--delimiter", "ab")
    assert code == 1 and "--delimiter must be one character" in err
    assert stored(database_url) == before


def test_bom_semicolons_tabs_and_header_case(database_url: str, tmp_path: Path) -> None:
    # Excel's "CSV UTF-8" in a comma-decimal locale: BOM, semicolons, commas inside cells
    excel = "External_ID;Name;Email;Phone;Plan\r\nx-1;Virtanen, Aino;aino@example.fi;+358401234567;pro\r\n"
    path = write(tmp_path, excel, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    code, out, err = invoke(database_url, str(path))
    assert code == 0, err
    assert out == "imported 1 contact: 1 created, 0 updated"
    row = stored(database_url, "x-1")["x-1"]
    assert (row["name"], row["email"], row["properties"]) == (
        "Virtanen, Aino",
        "aino@example.fi",
        {"Plan": "pro"},
    )
    tabbed = write(tmp_path, "external_id\tname\tregion\nx-2\tBen\tEU\n", name="t.tsv")
    code, out, err = invoke(database_url, str(tabbed))
    assert code == 0 and out.endswith("1 created, 0 updated"), err
    assert stored(database_url, "x-2")["x-2"]["properties"] == {"region": "EU"}
    # an explicit delimiter wins over the guess: here the whole line is one column
    code, _, err = invoke(database_url, str(tabbed), "--delimiter", ";")
    assert code == 1 and "no external_id column" in err and "delimiter ';'" in err
    code, out, err = invoke(database_url, str(tabbed), "--delimiter", "tab")
    assert code == 0 and out == "imported 1 contact: 0 created, 1 updated", err


def test_dry_run_counts_and_writes_nothing(database_url: str, tmp_path: Path) -> None:
    invoke(database_url, str(write(tmp_path, "external_id,plan\nold,free\n", name="seed.csv")))
    before = stored(database_url)
    path = write(tmp_path, "external_id,plan\nold,pro\nnew-1,pro\nnew-2,free\n")
    code, out, err = invoke(database_url, str(path), "--dry-run")
    assert code == 0, err
    assert out == "would import 3 contacts: 2 created, 1 updated (dry run: nothing written)"
    assert stored(database_url) == before
    code, out, err = invoke(database_url, str(write(tmp_path, BAD_ROWS, "bad.csv")), "--dry-run")
    assert code == 1 and "nothing imported: 7 bad rows" in err
    code, out, _ = invoke(database_url, str(path))
    assert out == "imported 3 contacts: 2 created, 1 updated"
    assert stored(database_url, "old")["old"]["properties"] == {"plan": "pro"}


def test_twenty_thousand_rows(database_url: str, tmp_path: Path) -> None:
    """Many chunks, updates spread over them, one transaction; rows read back exactly."""
    zones = ("Europe/Helsinki", "America/New_York", "Asia/Tokyo", "Australia/Sydney")

    def line(i: int, plan: str) -> str:
        phone = f"+1 415 555 {i % 10_000:04d}" if i % 4 == 0 else ""
        return f"u{i:05d},User {i},user{i}@example.com,{phone},{zones[i % 4]},{plan},{i % 50}\n"

    header = "external_id,name,email,phone,timezone,plan,seats\n"
    seeded = write(
        tmp_path, header + "".join(line(i, "free") for i in range(0, 20_000, 40)), "s.csv"
    )
    code, out, err = invoke(database_url, str(seeded))
    assert code == 0 and out == "imported 500 contacts: 500 created, 0 updated", err
    big = write(tmp_path, header + "".join(line(i, "pro") for i in range(20_000)), "big.csv")
    code, out, err = invoke(database_url, str(big))
    assert code == 0, err
    assert out == "imported 20000 contacts: 19500 created, 500 updated"
    assert asyncio.run(_count(database_url)) == 20_000
    rows = stored(database_url, "u00000", "u00001", "u09999", "u10000", "u19960", "u19999")
    assert rows["u00000"]["phone"] == "+14155550000" and rows["u00001"]["phone"] is None
    assert rows["u09999"]["timezone"] == "Australia/Sydney"
    assert rows["u10000"]["email"] == "user10000@example.com"
    assert rows["u19960"]["properties"] == {"plan": "pro", "seats": "10"}  # updated from free
    assert rows["u19960"]["updated_at"] > rows["u19960"]["created_at"]
    assert rows["u19999"]["properties"] == {"plan": "pro", "seats": "49"}
    assert rows["u19999"]["created_at"] == rows["u19999"]["updated_at"]


async def test_a_file_changed_between_the_passes_imports_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    path = write(tmp_path, REALISTIC)
    layout = read_layout(path)
    assert check_file(path, layout).rows == 4
    engine, sessions = await open_database(make_settings(sqlite_url))
    try:
        for expected in (3, 5):  # rows appeared or disappeared since the check
            async with UnitOfWork(sessions) as uow:
                with pytest.raises(ContactFileError, match="changed while it was being imported"):
                    await write_contacts(
                        uow, path, layout, expected_rows=expected, now=datetime.now(UTC)
                    )
        async with UnitOfWork(sessions) as uow:
            assert await uow.contacts.get_by_external_id("acme-001") is None
    finally:
        await engine.dispose()


@pytest.mark.parametrize("size", [999, 1000, 1001])
def test_chunk_boundaries(sqlite_url: str, tmp_path: Path, size: int) -> None:
    rows = "".join(f"c{i},p{i}\n" for i in range(size))
    code, out, err = invoke(sqlite_url, str(write(tmp_path, "external_id,plan\n" + rows)))
    assert code == 0 and out == f"imported {size} contacts: {size} created, 0 updated", err
    assert asyncio.run(_count(sqlite_url)) == size


def test_national_numbers_need_the_default_region(database_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "external_id,phone\nus-1,(415) 555-0123\nfi-1,+358 40 123 4567\n")
    code, _, err = invoke(database_url, str(path))
    assert code == 1 and "phone '(415) 555-0123': not a phone number" in err
    env = {"SURVEYBOT_DATABASE_URL": database_url, "SURVEYBOT_DEFAULT_PHONE_REGION": "US"}
    result = runner.invoke(app, ["contacts", "import", str(path)], env=env)
    assert result.exit_code == 0, result.stderr
    rows = stored(database_url)
    assert (rows["us-1"]["phone"], rows["fi-1"]["phone"]) == ("+14155550123", "+358401234567")


DATES = """\
external_id,email,Renewal_Date,signup_date,renews
ok-1,ann@example.com,2027-05-31,20260115,31/05/2027
slashes,bob@example.com,31/05/2027,,
no-such-day,,2027-02-29,2026-01-15,
with-time,,2027-05-31T09:00,2026-13-01,
empty,,,,
"""


def test_dates_are_iso_8601_and_a_bad_one_names_its_line_and_column(
    database_url: str, tmp_path: Path
) -> None:
    code, out, err = invoke(database_url, str(write(tmp_path, DATES)))
    assert code == 1 and out == ""
    assert "nothing imported: 3 bad rows:" in err
    assert (
        "line 3 (slashes): Renewal_Date '31/05/2027': not an ISO 8601 date;"
        " use YYYY-MM-DD, e.g. 2027-05-31"
    ) in err
    assert "line 4 (no-such-day): Renewal_Date '2027-02-29': not a day of the calendar" in err
    assert (
        "line 5 (with-time): Renewal_Date '2027-05-31T09:00': not an ISO 8601 date;"
        " use YYYY-MM-DD, e.g. 2027-05-31; signup_date '2026-13-01': not a day of the calendar"
    ) in err
    assert stored(database_url) == {}

    good = "\n".join(
        line for line in DATES.splitlines() if line.startswith(("external", "ok", "empty"))
    )
    code, out, err = invoke(database_url, str(write(tmp_path, good + "\n")))
    assert code == 0, err
    rows = stored(database_url)
    # Stored as YYYY-MM-DD; "renews" is not named …_date: any text goes.
    assert rows["ok-1"]["properties"] == {
        "Renewal_Date": "2027-05-31",
        "signup_date": "2026-01-15",
        "renews": "31/05/2027",
    }
    assert rows["empty"]["properties"] == {}
