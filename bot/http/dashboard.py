"""/dashboard: the CX manager's pages — sign-in, the surveys, a survey's first screen, a timeline.

Server-rendered HTML behind a session cookie (`dashboard_auth`), drawn by `dashboard_pages`.
Every answer carries `HEADERS`; a page asked for without a session redirects to the sign-in page,
which sends the reader back afterwards (to a dashboard path only).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import NotFound, ServiceError, Unprocessable
from bot.http import auth_throttle, dashboard_auth
from bot.http.dashboard_auth import (
    HOME,
    SESSION_COOKIE,
    SIGNIN,
    SIGNIN_COOKIE,
    SignedIn,
    local_next,
    signed_in,
)
from bot.http.dashboard_pages import (
    link,
    render_error,
    render_filters_error,
    render_invitation,
    render_signin,
    render_survey,
    render_surveys,
    survey_path,
)
from bot.http.deps import ReadUowDep
from bot.insight.dashboard import build_dashboard
from bot.insight.filters import PROPERTY_PREFIX
from bot.invitations.timeline import invitation_detail
from bot.runtime.services import Services, ServicesDep
from storage.repositories.apikeys import allows
from storage.uow import UnitOfWork

router = APIRouter(prefix="/dashboard", include_in_schema=False)

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
MAX_FORM = 4096  # bytes of a sign-in or sign-out form


def page(html: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers={**HEADERS, **(headers or {})})


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=HEADERS)


def to_signin(request: Request, services: Services) -> Response:
    response = see_other(dashboard_auth.signin_url(dashboard_auth.requested_path(request)))
    if SESSION_COOKIE in request.cookies:  # expired, tampered or its key revoked
        dashboard_auth.clear(response, services, SESSION_COOKIE)
    return response


async def session_of(request: Request, services: ServicesDep, uow: ReadUowDep) -> SignedIn | None:
    return await signed_in(request, services, uow)


SessionDep = Annotated[SignedIn | None, Depends(session_of)]


@cache
def _stylesheet() -> bytes:
    return (files("bot.http") / "static" / "dashboard.css").read_bytes()


@router.get("/static/dashboard.css")
async def stylesheet() -> Response:
    return Response(_stylesheet(), media_type="text/css", headers=HEADERS)


async def read_form(request: Request) -> dict[str, str]:
    """A small urlencoded form's fields (the first value of each); {} when it is not one."""
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10)
    except ValueError:  # not UTF-8, or too many fields
        return {}
    return {name: values[0] for name, values in fields.items()}


def signin_page(
    request: Request,
    services: Services,
    target: str,
    *,
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    nonce = dashboard_auth.signin_nonce(request) or dashboard_auth.new_nonce()
    token = dashboard_auth.signin_token(services, nonce)
    response = page(render_signin(next_path=target, token=token, error=error), status, headers)
    dashboard_auth.set_signin_nonce(response, services, nonce)
    return response


@router.get("/signin")
async def signin_form(request: Request, services: ServicesDep, who: SessionDep) -> Response:
    target = local_next(request.query_params.get("next"))
    if who is not None:
        return see_other(target)
    return signin_page(request, services, target)


@router.post("/signin")
async def signin(request: Request, services: ServicesDep) -> Response:
    """A key with the read scope (or admin) for a session; 403 without the form's token,
    401 for a wrong key, 429 after too many, 403 for a key that may not read."""
    form = await read_form(request)
    target = local_next(form.get("next"))
    nonce = dashboard_auth.signin_nonce(request)
    expected = dashboard_auth.signin_token(services, nonce) if nonce else None
    if expected is None or not dashboard_auth.token_matches(expected, form.get("csrf")):
        message = "The sign-in form had expired or did not come from this page; try again."
        return signin_page(request, services, target, error=message, status=403)
    now = services.clock()
    plain = form.get("key", "").strip()
    async with UnitOfWork(services.read_sessions) as uow:
        key = await uow.api_keys.verify(plain) if plain else None
    if key is None or key.id is None:
        throttle = auth_throttle.for_app(request.app)
        address = request.client.host if request.client else "unknown"
        wait = throttle.retry_after(address, now)
        if wait is not None:
            message = f"Too many wrong keys from this address; try again in {wait} seconds."
            retry = {"Retry-After": str(wait)}
            return signin_page(request, services, target, error=message, status=429, headers=retry)
        throttle.failed(address, now)
        message = "That key is not valid: it is mistyped, or it was revoked."
        return signin_page(request, services, target, error=message, status=401)
    if not allows(key, dashboard_auth.SCOPE):
        message = (
            "That key lacks the read scope. Sign in with a key made with"
            " `surveybot apikey create NAME --scope read`."
        )
        return signin_page(request, services, target, error=message, status=403)
    await _record_use(services, key.id, now)
    response = see_other(target)
    dashboard_auth.set_session(response, services, dashboard_auth.issue(services, key.id, now))
    dashboard_auth.clear(response, services, SIGNIN_COOKIE)
    return response


async def _record_use(services: Services, key_id: int, now: datetime) -> None:
    try:
        async with UnitOfWork(services.sessions) as uow:
            await uow.api_keys.touch(key_id, now)
            await uow.commit()
    except SQLAlchemyError:
        pass  # bookkeeping only (as for the API): the sign-in goes on


@router.post("/signout")
async def signout(request: Request, services: ServicesDep) -> Response:
    """Clear the session; 403 (and nothing cleared) without the page's token."""
    form = await read_form(request)
    session = dashboard_auth.read_session(services, request.cookies.get(SESSION_COOKIE))
    if session is not None:
        expected = dashboard_auth.session_token(services, session)
        if not dashboard_auth.token_matches(expected, form.get("csrf")):
            message = "Sign-out refused: the form did not come from this page. Reload it and retry."
            return page(render_error("Not signed out", message, csrf=None), 403)
    response = see_other(SIGNIN)
    dashboard_auth.clear(response, services, SESSION_COOKIE)
    return response


@router.get("")
async def home(
    request: Request, services: ServicesDep, uow: ReadUowDep, who: SessionDep
) -> Response:
    """The surveys; straight to the survey when there is only one."""
    if who is None:
        return to_signin(request, services)
    rows = await uow.surveys.list()
    if len(rows) == 1:
        return see_other(survey_path(rows[0].key))
    listed = [(r.key, r.metric, r.archived_at is not None) for r in rows]
    return page(render_surveys(sorted(listed), csrf=who.csrf))


def canonical(params: dict[str, list[str]]) -> dict[str, list[str]]:
    """The query as a shareable URL keeps it: the form's property name and value folded into
    `property.NAME=VALUE`, empty fields dropped; Unprocessable for half a property."""
    name = next((v.strip() for v in params.get("property_name", ()) if v.strip()), "")
    value = next((v.strip() for v in params.get("property_value", ()) if v.strip()), "")
    if value and not name:
        raise Unprocessable("choose the property the value is for", field="property_name")
    if name and not value:
        raise Unprocessable(f"type the value of {name} to filter on", field="property_value")
    result: dict[str, list[str]] = {}
    for key, values in params.items():
        if key in ("property_name", "property_value"):
            continue
        kept = [v for v in values if v.strip()]
        if kept:
            result[key] = kept
    if name:
        result.setdefault(PROPERTY_PREFIX + name, [])
        if value not in result[PROPERTY_PREFIX + name]:
            result[PROPERTY_PREFIX + name].append(value)
    return result


@router.get("/surveys/{key}")
async def survey(
    key: str, request: Request, services: ServicesDep, uow: ReadUowDep, who: SessionDep
) -> Response:
    """A survey's first screen under the URL's filters; its form with the message on a bad one."""
    if who is None:
        return to_signin(request, services)
    params: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        params.setdefault(name, []).append(value)
    now = services.clock()
    try:
        wanted = canonical(params)
        if wanted != params:
            return see_other(link(survey_path(key), wanted))
        dashboard = await build_dashboard(
            uow, key, params, now=now, sessions=services.read_sessions
        )
        sort, order = (next(iter(params.get(name, ())), None) for name in ("sort", "order"))
        html = render_survey(
            dashboard, params, today=now.date(), csrf=who.csrf, sort=sort, order=order
        )
    except NotFound as exc:
        return page(render_error("Not found", exc.message, csrf=who.csrf), 404)
    except Unprocessable as exc:
        return await refused(uow, key, params, exc, now, who)
    except ServiceError as exc:
        return page(render_error("Refused", exc.message, csrf=who.csrf), exc.status)
    return page(html)


async def refused(
    uow: UnitOfWork,
    key: str,
    params: dict[str, list[str]],
    error: Unprocessable,
    now: datetime,
    who: SignedIn,
) -> Response:
    """422: the filter form as sent, the message beside the field to blame (choices from the
    survey's unfiltered view, so the form still offers them)."""
    choices: dict[str, tuple[str, ...]] = {}
    try:
        plain = await build_dashboard(uow, key, {}, now=now)
    except NotFound as exc:
        return page(render_error("Not found", exc.message, csrf=who.csrf), 404)
    except ServiceError:
        pass  # the form still shows, without its lists of choices
    else:
        choices = {
            "channels": plain.channels,
            "properties": plain.properties,
            "segment_fields": plain.segment_fields,
        }
    html = render_filters_error(key, params, error, today=now.date(), csrf=who.csrf, **choices)
    return page(html, 422)


@router.get("/invitations/{invitation_id}")
async def invitation(
    invitation_id: str, request: Request, services: ServicesDep, uow: ReadUowDep, who: SessionDep
) -> Response:
    """One invitation's timeline, with a link back to where the reader came from."""
    if who is None:
        return to_signin(request, services)
    try:
        detail = await invitation_detail(uow, invitation_id)
    except NotFound as exc:
        return page(render_error("Not found", exc.message, csrf=who.csrf), 404)
    back = local_next(request.query_params.get("back"))
    if back == HOME and detail.survey:
        back = survey_path(detail.survey)
    return page(render_invitation(detail, back=back, csrf=who.csrf))


@router.get("/{rest:path}")
async def elsewhere(
    rest: str, request: Request, services: ServicesDep, who: SessionDep
) -> Response:
    """Any other dashboard address: sign in first, then a 404 page (`/dashboard/` is home)."""
    if who is None:
        return to_signin(request, services)
    if rest == "":
        return see_other(HOME)
    return page(render_error("Not found", "There is no such dashboard page.", csrf=who.csrf), 404)
