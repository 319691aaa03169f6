"""Signing in to /dashboard: the session cookie, CSRF tokens, wrong keys, scopes, signing out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.http import auth_throttle, dashboard_auth
from bot.http.dashboard import HEADERS
from bot.runtime.services import Services
from storage.uow import UnitOfWork
from tests.bot.http.test_dashboard_pages import parse
from tests.conftest import FakeClock, app_client, make_settings
from tests.support import add_survey

SESSION = dashboard_auth.SESSION_COOKIE
PRE = dashboard_auth.SIGNIN_COOKIE


@pytest.fixture
async def site(sqlite_url: str, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """The app on SQLite with two surveys; the client carries no dashboard cookie yet."""
    settings = make_settings(sqlite_url)
    async with app_client(settings, clock, base_url="http://dashboard.test") as (client, services):
        await add_survey(services)
        await add_survey(services, key="onboarding-nps", metric="nps")
        client.headers.pop("Authorization")  # the dashboard ignores it; no test relies on it
        client.app_services = services  # type: ignore[attr-defined]
        yield client


def services_of(client: httpx.AsyncClient) -> Services:
    services: Services = client.app_services  # type: ignore[attr-defined]
    return services


async def new_key(client: httpx.AsyncClient, name: str, *scopes: str) -> str:
    async with UnitOfWork(services_of(client).sessions) as uow:
        _, plain = await uow.api_keys.create(name, scopes or ("read",))
        await uow.commit()
    return plain


def cookie(reply: httpx.Response, name: str) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in reply.headers.get_list("set-cookie"):
        if header.startswith(name + "="):
            jar.load(header)
    return jar


async def form_token(client: httpx.AsyncClient, next_path: str | None = None) -> str:
    params = {"next": next_path} if next_path else {}
    reply = await client.get("/dashboard/signin", params=params)
    assert reply.status_code == 200
    return parse(reply.text).one("input", name="csrf").attrs["value"]


async def sign_in(
    client: httpx.AsyncClient, key: str, *, next_path: str = "", token: str | None = None
) -> httpx.Response:
    csrf = token if token is not None else await form_token(client)
    return await client.post(
        "/dashboard/signin",
        data={"key": key, "csrf": csrf, "next": next_path},
    )


def assert_dashboard_headers(reply: httpx.Response) -> None:
    for name, value in HEADERS.items():
        assert reply.headers[name] == value, name


async def test_pages_redirect_to_signin_keeping_where_the_reader_was_going(
    site: httpx.AsyncClient,
) -> None:
    for path, next_path in [
        ("/dashboard", None),
        ("/dashboard/surveys/support-csat?channel=sms&from=2026-10-01",
         "/dashboard/surveys/support-csat?channel=sms&from=2026-10-01"),
        ("/dashboard/invitations/inv-1", "/dashboard/invitations/inv-1"),
        ("/dashboard/no/such/page", "/dashboard/no/such/page"),
    ]:  # fmt: skip
        reply = await site.get(path)
        assert reply.status_code == 303, path
        assert_dashboard_headers(reply)
        target = urlsplit(reply.headers["location"])
        assert target.path == "/dashboard/signin"
        assert parse_qs(target.query).get("next", [None])[0] == next_path
    styles = await site.get("/dashboard/static/dashboard.css")  # the sign-in page needs it
    assert styles.status_code == 200 and styles.headers["content-type"].startswith("text/css")
    assert_dashboard_headers(styles)


async def test_a_read_key_signs_in_for_twelve_hours_and_returns_to_next(
    site: httpx.AsyncClient, clock: FakeClock
) -> None:
    key = await new_key(site, "reader", "read")
    page = await site.get("/dashboard/signin", params={"next": "/dashboard/surveys/onboarding-nps"})
    assert_dashboard_headers(page)
    pre = cookie(page, PRE)[PRE]
    assert (pre["httponly"], pre["samesite"].lower(), pre["path"], pre["secure"]) == (
        True, "lax", "/dashboard", ""
    )  # fmt: skip
    form = parse(page.text).one("form", action="/dashboard/signin")
    assert form.attrs["method"] == "post"
    assert form.one("input", name="next").attrs["value"] == "/dashboard/surveys/onboarding-nps"
    token = form.one("input", name="csrf").attrs["value"]

    reply = await sign_in(site, key, next_path="/dashboard/surveys/onboarding-nps", token=token)
    assert reply.status_code == 303, reply.text
    assert reply.headers["location"] == "/dashboard/surveys/onboarding-nps"
    session = cookie(reply, SESSION)[SESSION]
    assert (session["httponly"], session["samesite"].lower(), session["path"]) == (
        True, "lax", "/dashboard"
    )  # fmt: skip
    assert session["max-age"] == str(12 * 3600) and session["secure"] == ""
    assert key not in session.value  # the cookie names the key's id, never the key
    assert cookie(reply, PRE)[PRE]["max-age"] == "0"  # the pre-session cookie is done

    listed = await site.get("/dashboard")
    assert listed.status_code == 200
    assert_dashboard_headers(listed)
    surveys = parse(listed.text).all("li", data_survey=None)
    assert [s.attrs["data-survey"] for s in surveys] == ["onboarding-nps", "support-csat"]
    missing = await site.get("/dashboard/no/such/page")
    assert missing.status_code == 404 and "no such dashboard page" in missing.text
    assert_dashboard_headers(missing)
    home = await site.get("/dashboard/")
    assert (home.status_code, home.headers["location"]) == (303, "/dashboard")
    again = await site.get("/dashboard/signin", params={"next": "/dashboard/surveys/x"})
    assert (again.status_code, again.headers["location"]) == (303, "/dashboard/surveys/x")

    clock.advance(hours=11, minutes=59)
    assert (await site.get("/dashboard")).status_code == 200
    clock.advance(minutes=2)
    expired = await site.get("/dashboard")
    assert expired.status_code == 303
    assert expired.headers["location"].startswith("/dashboard/signin")
    assert cookie(expired, SESSION)[SESSION]["max-age"] == "0"  # the stale cookie is cleared


async def test_an_admin_key_signs_in_and_a_key_without_read_does_not(
    site: httpx.AsyncClient,
) -> None:
    triggers = await new_key(site, "help desk", "triggers")
    refused = await sign_in(site, triggers)
    assert refused.status_code == 403
    assert_dashboard_headers(refused)
    assert "lacks the read scope" in parse(refused.text).one(data_testid="signin-error").words()
    assert not cookie(refused, SESSION)
    assert (await site.get("/dashboard")).status_code == 303
    admin = await new_key(site, "boss", "admin")
    assert (await sign_in(site, admin)).status_code == 303
    assert (await site.get("/dashboard")).status_code == 200


async def test_wrong_keys_are_refused_then_slowed_like_the_apis(
    site: httpx.AsyncClient, clock: FakeClock
) -> None:
    refused = 0
    for n in range(auth_throttle.LIMIT):
        reply = await sign_in(site, f"sb_wrong{n}")
        assert reply.status_code == 401
        assert "not valid" in parse(reply.text).one(data_testid="signin-error").words()
        assert not cookie(reply, SESSION)
        refused += 1
    assert refused == auth_throttle.LIMIT
    slowed = await sign_in(site, "sb_wrong-again")
    assert slowed.status_code == 429
    assert 1 <= int(slowed.headers["retry-after"]) <= 60
    assert "Too many wrong keys" in slowed.text
    key = await new_key(site, "reader")
    assert (await sign_in(site, key)).status_code == 303  # a right key is never slowed
    site.cookies.clear()
    clock.advance(minutes=1)  # the window has passed
    assert (await sign_in(site, "sb_wrong-later")).status_code == 401


async def test_a_post_without_the_forms_token_is_refused_and_changes_nothing(
    site: httpx.AsyncClient,
) -> None:
    key = await new_key(site, "reader")
    token = await form_token(site)
    for data in (
        {"key": key},
        {"key": key, "csrf": ""},
        {"key": key, "csrf": token[:-1] + ("0" if token[-1] != "0" else "1")},
    ):
        reply = await site.post("/dashboard/signin", data=data)
        assert reply.status_code == 403 and not cookie(reply, SESSION)
        assert "did not come from this page" in reply.text
    # The right token without its pre-session cookie (another browser's form) is refused too.
    site.cookies.delete(PRE)
    reply = await site.post("/dashboard/signin", data={"key": key, "csrf": token})
    assert reply.status_code == 403 and not cookie(reply, SESSION)
    assert (await site.get("/dashboard")).status_code == 303


async def test_sign_out_needs_the_pages_token_then_ends_the_session(
    site: httpx.AsyncClient,
) -> None:
    key = await new_key(site, "reader")
    assert (await sign_in(site, key)).status_code == 303
    listed = await site.get("/dashboard")
    token = parse(listed.text).one("form", action="/dashboard/signout").one("input", name="csrf")
    for data in ({}, {"csrf": ""}, {"csrf": "x" * 64}):
        refused = await site.post("/dashboard/signout", data=data)
        assert refused.status_code == 403 and not cookie(refused, SESSION)
        assert_dashboard_headers(refused)
        assert (await site.get("/dashboard")).status_code == 200  # still signed in
    out = await site.post("/dashboard/signout", data={"csrf": token.attrs["value"]})
    assert (out.status_code, out.headers["location"]) == (303, "/dashboard/signin")
    assert cookie(out, SESSION)[SESSION]["max-age"] == "0"
    assert SESSION not in site.cookies
    assert (await site.get("/dashboard")).status_code == 303


async def test_revoking_the_key_or_tampering_with_the_cookie_ends_the_session(
    site: httpx.AsyncClient, clock: FakeClock
) -> None:
    key = await new_key(site, "reader")
    assert (await sign_in(site, key)).status_code == 303
    value = site.cookies[SESSION]
    site.cookies.set(SESSION, value[:-2] + ("AA" if not value.endswith("AA") else "BB"),
                     domain="dashboard.test", path="/dashboard")  # fmt: skip
    assert (await site.get("/dashboard")).status_code == 303
    site.cookies.set(SESSION, value, domain="dashboard.test", path="/dashboard")
    assert (await site.get("/dashboard")).status_code == 200
    async with UnitOfWork(services_of(site).sessions) as uow:
        assert await uow.api_keys.revoke("reader", clock()) == 1
        await uow.commit()
    assert (await site.get("/dashboard")).status_code == 303


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        ("/dashboard/surveys/a?channel=sms", "/dashboard/surveys/a?channel=sms"),
        ("/dashboard", "/dashboard"),
        ("https://evil.example/dashboard", "/dashboard"),
        ("//evil.example/dashboard", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
        ("/dashboard\\..\\x", "/dashboard"),
        ("/dashboardx", "/dashboard"),
        ("/docs", "/dashboard"),
        ("javascript:alert(1)", "/dashboard"),
        ("/dashboard/../docs", "/dashboard"),
        ("/dashboard/signin?next=//evil", "/dashboard"),
        ("/dashboard/\nLocation: x", "/dashboard"),
        ("", "/dashboard"),
    ],
)
def test_next_only_ever_names_a_dashboard_path(asked: str, kept: str) -> None:
    assert dashboard_auth.local_next(asked) == kept


async def test_signing_in_never_sends_the_reader_elsewhere(site: httpx.AsyncClient) -> None:
    sneaky = await site.get("/dashboard/signin", params={"next": "//evil.example"})
    assert parse(sneaky.text).one("input", name="next").attrs["value"] == "/dashboard"
    key = await new_key(site, "reader")
    reply = await sign_in(site, key, next_path="https://evil.example/dashboard")
    assert (reply.status_code, reply.headers["location"]) == (303, "/dashboard")
    signed_in = await site.get("/dashboard/signin", params={"next": "//evil.example"})
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/dashboard")


async def test_cookies_are_secure_behind_https(sqlite_url: str, clock: FakeClock) -> None:
    settings = make_settings(sqlite_url, public_url="https://surveys.example.com")
    async with app_client(settings, clock, base_url="https://surveys.example.com") as (
        client,
        services,
    ):
        async with UnitOfWork(services.sessions) as uow:
            _, key = await uow.api_keys.create("reader", ["read"])
            await uow.commit()
        page = await client.get("/dashboard/signin")
        assert cookie(page, PRE)[PRE]["secure"] is True
        reply = await sign_in(client, key)
        assert reply.status_code == 303
        assert cookie(reply, SESSION)[SESSION]["secure"] is True


async def test_a_session_of_another_instance_is_not_accepted(
    site: httpx.AsyncClient, sqlite_url: str, clock: FakeClock
) -> None:
    key = await new_key(site, "reader")
    assert (await sign_in(site, key)).status_code == 303
    stolen = site.cookies[SESSION]
    other = make_settings(sqlite_url, secret_key="another-secret-key-0123456789")
    async with app_client(other, clock, base_url="http://dashboard.test") as (client, _):
        client.cookies.set(SESSION, stolen, domain="dashboard.test", path="/dashboard")
        assert (await client.get("/dashboard")).status_code == 303
