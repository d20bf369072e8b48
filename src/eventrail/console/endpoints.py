"""The console's pages: HTTP only (read the form or query, call the service, render).

Every page but sign-in needs a session (``ConsoleCaller``); without a valid one
the browser is sent to the sign-in page. Every form that changes state carries
the session's CSRF token. Bad input renders the page again with the message.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode

import anyio
import jinja2
import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.templating import Jinja2Templates

from eventrail.audit.repository import AuditReads
from eventrail.auth.schemas import Caller
from eventrail.console import service
from eventrail.console.session import (
    COOKIE_PATH,
    PRE_COOKIE,
    PRE_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    ConsoleSession,
    csrf_ok,
    new_pre_token,
    new_session,
    read_pre_token,
    read_session,
)
from eventrail.db import Database
from eventrail.errors import BadRequest, EventrailError, NotFound, RateLimited, Unauthorized
from eventrail.events.endpoints import public_base_url
from eventrail.kit.dates import zone
from eventrail.kit.fastdb import ReadPool
from eventrail.notifications import names as notify_names
from eventrail.processing import statuses as st
from eventrail.processing.overview import replays_of
from eventrail.processing.repository import EventReads
from eventrail.processing.schemas import ReplayIn
from eventrail.processing.service import (
    UNAUTHORIZED_FILTER,
    ReplayTicket,
    log_entry,
    log_page,
    replay_and_wait,
)

_HERE = Path(__file__).parent
STATIC_FILES = {"console.css": "text/css; charset=utf-8"}
PAGE_SIZE = 50
MAX_FORM_BYTES = 8192
# The "try a payload" form carries one event's body.
MAX_TRY_BYTES = 65536
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: under no-referrer browsers send `Origin: null` with
    # the forms, which the Origin check must refuse. URLs never leave for another site.
    "Referrer-Policy": "same-origin",
    # Pages carry customers' data: not kept by the browser or a proxy.
    "Cache-Control": "no-store",
}

router = APIRouter(prefix="/console", include_in_schema=False)


class SignInRequired(Unauthorized):
    """No valid session: the console's handler sends the browser to the sign-in page
    (and forgets the cookie) instead of the API's 401 envelope."""


class TooManyRequests(RateLimited):
    """The session's caller is past its rate limit: the console's handler shows a page
    (with the API's rate-limit headers) instead of the API's 429 envelope."""


# -- rendering ------------------------------------------------------------------------
_CODE = re.compile(r"`([^`]*)`")


def _md(text: str) -> Markup:
    """The guide's markdown (`code` spans only), escaped."""
    return Markup(_CODE.sub(r"<code>\1</code>", html.escape(text)))  # noqa: S704 (escaped first)


def _pretty(text: str | None) -> str:
    if text is None:
        return ""
    try:
        return orjson.dumps(orjson.loads(text), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        return text


def _dump(value: Any) -> str:
    # Fragments (stored JSON sent on as it is) are parsed first, to be indented too.
    plain = orjson.loads(orjson.dumps(value))
    return orjson.dumps(plain, option=orjson.OPT_INDENT_2).decode()


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True, auto_reload=False
)
_env.filters.update(md=_md, pretty=_pretty, dump=_dump)
templates = Jinja2Templates(env=_env)


def _when(caller: Caller | None) -> Any:
    tz = zone(caller.org_timezone) if caller is not None else UTC

    def when(ms: int | None) -> str:
        if ms is None:
            return ""
        return datetime.fromtimestamp(ms / 1000, tz=tz).strftime("%Y-%m-%d %H:%M:%S")

    return when


def _utc(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    console: tuple[Caller, ConsoleSession] | None = None,
) -> Response:
    caller, session = console if console is not None else (None, None)
    page = {
        "caller": caller,
        "csrf": session.csrf if session is not None else None,
        "when": _when(caller),
        "utc": _utc,
        **context,
    }
    response = templates.TemplateResponse(request, name, page, status_code=status_code)
    response.headers.update(_HEADERS)
    return response


def _failure(exc: EventrailError) -> tuple[int, str]:
    if isinstance(exc, NotFound):
        return 404, "Not found in this org"
    return exc.status_code, exc.message


# -- sessions -------------------------------------------------------------------------
def _key(request: Request) -> str:
    return str(request.app.state.authenticator.signing_key)


async def _console(request: Request) -> tuple[Caller, ConsoleSession]:
    """The session's caller, charged as its API requests are (``Admission.charge``: the
    org's limit per credential and endpoint), so the console is no way around it."""
    session = read_session(_key(request), request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise SignInRequired()
    try:
        caller = await anyio.to_thread.run_sync(
            service.resume,
            request.app.state.db,
            request.app.state.authenticator,
            session.org_id,
            session.till_id,
            session.client_id,
            session.stamp,
        )
    except Unauthorized as exc:
        raise SignInRequired() from exc
    request.state.caller = caller
    route = request.scope.get("route")
    endpoint = f"{request.method} {getattr(route, 'path', request.url.path)}"
    try:
        request.state.rate_limit = await request.app.state.admission.charge(
            caller.rate_limit, str(caller.org_id), caller.credential, endpoint
        )
    except RateLimited as exc:
        raise TooManyRequests(headers=exc.headers) from exc
    return caller, session


ConsoleCaller = Annotated[tuple[Caller, ConsoleSession], Depends(_console)]


def _same_origin(request: Request) -> bool:
    """False for a post another site's page sent (its Origin names another host)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def _form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
    """An urlencoded form's fields (the first value of each)."""
    body = await request.body()
    if len(body) > max_bytes:
        raise BadRequest("The form is too large")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("The form could not be read") from exc
    out = {name: values[0] for name, values in fields.items() if values}
    if any("\x00" in value for value in out.values()):
        raise BadRequest("The form holds a NUL character")
    return out


def _redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(_HEADERS)
    return response


def _safe_next(raw: str | None) -> str:
    if raw and raw.startswith("/console") and "//" not in raw and "\\" not in raw:
        return raw
    return "/console"


def _sign_in_page(
    request: Request, *, error: str | None = None, status_code: int = 200, kind: str = "till"
) -> Response:
    cookie, token = new_pre_token(_key(request))
    response = render(
        request,
        "sign_in.html",
        {
            "error": error,
            "pre_csrf": token,
            "kind": kind,
            "next": _safe_next(request.query_params.get("next")),
        },
        status_code=status_code,
    )
    response.set_cookie(
        PRE_COOKIE,
        cookie,
        max_age=PRE_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    return _sign_in_page(request)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    try:
        form = await _form(request)
    except BadRequest as exc:
        return _sign_in_page(request, error=exc.message, status_code=400)
    kind = form.get("kind", "till")
    expected = read_pre_token(_key(request), request.cookies.get(PRE_COOKIE))
    if not _same_origin(request) or not csrf_ok(expected, form.get("csrf")):
        return _sign_in_page(
            request, error="The form expired: sign in again", status_code=403, kind=kind
        )
    source = request.client.host if request.client else "unknown"
    try:
        caller, stamp = await service.sign_in(
            request.app.state.db,
            request.app.state.admission,
            kind=kind,
            name=form.get("name"),
            secret=form.get("secret"),
            source=source,
        )
    except RateLimited:
        return _sign_in_page(
            request,
            error="Too many failed sign-ins: wait a minute and try again",
            status_code=429,
            kind=kind,
        )
    except Unauthorized:
        wrong = "till code or password" if kind == "till" else "client key or secret"
        return _sign_in_page(request, error=f"Wrong {wrong}", status_code=401, kind=kind)
    except EventrailError as exc:
        return _sign_in_page(request, error=exc.message, status_code=400, kind=kind)
    cookie, _ = new_session(_key(request), caller.org_id, caller.till_id, caller.client_id, stamp)
    response = _redirect(_safe_next(form.get("next")))
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(PRE_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, console: ConsoleCaller) -> Response:
    form = await _form(request)
    if not _same_origin(request) or not csrf_ok(console[1].csrf, form.get("csrf")):
        return _refused(request, console)
    response = _redirect("/console/sign-in")
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


# -- pages ----------------------------------------------------------------------------
@router.get("")
@router.get("/")
def overview_page(request: Request, console: ConsoleCaller) -> Response:
    data = service.overview_page(_db(request), EventReads(_pool(request)), console[0])
    return render(request, "overview.html", data, console=console)


def _query(request: Request, *names: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        value = request.query_params.get(name)
        out[name] = value.strip() if value is not None and value.strip() else None
    return out


def _pool(request: Request) -> ReadPool:
    """The console reads from the replica when there is one (``EVENTRAIL_READ_DATABASE_URL``)."""
    pool: ReadPool = request.app.state.reads.pool(None)
    return pool


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


@router.get("/events")
def events_page(request: Request, console: ConsoleCaller) -> Response:
    caller = console[0]
    q = _query(request, "status", "event", "webhook", "request", "customer", "from", "to", "cursor")
    context: dict[str, Any] = {
        "q": q,
        "statuses": (*st.ALL, UNAUTHORIZED_FILTER),
        "page": None,
        "error": None,
    }
    status_code = 200
    try:
        customer_id = None
        if q["customer"] is not None:
            by, _, value = q["customer"].partition(":")
            if not value:
                by, value = "mobile", q["customer"]
            customer_id = service.find_customer(_db(request), caller, by, value)
        context["page"] = log_page(
            EventReads(_pool(request)),
            caller,
            status=q["status"],
            event_name=q["event"],
            webhook_id=q["webhook"],
            request_id=q["request"],
            customer_id=customer_id,
            from_date=q["from"],
            to_date=q["to"],
            cursor=q["cursor"],
            limit=PAGE_SIZE,
        )
    except EventrailError as exc:
        status_code, context["error"] = _failure(exc)
        if isinstance(exc, NotFound):
            status_code, context["error"] = 400, "No customer with that identifier"
    kept = {k: v for k, v in q.items() if v is not None and k != "cursor"}
    context["link"] = lambda **extra: (
        "/console/events?"
        + urlencode({**kept, **{k: v for k, v in extra.items() if v is not None}})
    )
    context["kept"] = kept
    return render(request, "events.html", context, status_code=status_code, console=console)


def _entry(request: Request, caller: Caller, log_id: str) -> dict[str, Any] | None:
    return log_entry(EventReads(_pool(request)), caller, log_id) if len(log_id) <= 64 else None


def _event_page(
    request: Request,
    console: tuple[Caller, ConsoleSession],
    entry: dict[str, Any],
    *,
    replay: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    caller = console[0]
    definition = service.definition_of(_db(request), caller, entry["orgId"], entry.get("eventName"))
    # Just after a replay was asked for, its claim is read where it was written.
    pool = _pool(request) if replay is None else request.app.state.reads.primary
    replays = replays_of(EventReads(pool), caller, entry["id"])
    # No button once a replay succeeded or waits: a press would only be skipped.
    live = any(r["state"] in ("pending", "succeeded") for r in replays)
    return render(
        request,
        "event.html",
        {
            "entry": entry,
            "guide": st.guide_rows(entry.get("status"), entry["message"]),
            "definition": definition,
            "fields": service.fields_of(definition) if definition is not None else [],
            "replays": replays,
            "replayable": entry.get("status") in st.REPLAYABLE
            and "replayOf" not in entry
            and not live,
            "replay": replay,
            "replay_reason": service.SKIP_REASONS.get(replay.get("reason", ""), "")
            if replay is not None
            else "",
            "error": error,
        },
        status_code=status_code,
        console=console,
    )


@router.get("/events/{log_id}")
def event_page(request: Request, log_id: str, console: ConsoleCaller) -> Response:
    entry = _entry(request, console[0], log_id)
    if entry is None:
        return _not_found(request, console)
    return _event_page(request, console, entry)


def _message(
    request: Request,
    title: str,
    message: str,
    status_code: int,
    console: tuple[Caller, ConsoleSession] | None = None,
) -> Response:
    """The page of one message (a refusal, nothing found, a rate limit)."""
    return render(
        request,
        "message.html",
        {"title": title, "message": message},
        status_code=status_code,
        console=console,
    )


def _refused(request: Request, console: tuple[Caller, ConsoleSession]) -> Response:
    return _message(request, "Refused", "The form expired or came from elsewhere", 403, console)


def _not_found(request: Request, console: tuple[Caller, ConsoleSession]) -> Response:
    return _message(request, "Not found", "Nothing with that id in this org.", 404, console)


@router.post("/events/{log_id}/replay")
async def replay_event(request: Request, log_id: str, console: ConsoleCaller) -> Response:
    """The Replay button: POST /v2/events/logs/replay of this one entry, waiting for
    its verdict (the same service, the same claim: a second press is skipped)."""
    caller, session = console
    try:
        form = await _form(request)
    except BadRequest:
        form = {}
    entry = await anyio.to_thread.run_sync(_entry, request, caller, log_id)
    if entry is None:
        return _not_found(request, console)
    if not _same_origin(request) or not csrf_ok(session.csrf, form.get("csrf")):
        return _refused(request, console)
    if not caller.admin:
        return await anyio.to_thread.run_sync(
            partial(
                _event_page,
                request,
                console,
                entry,
                error="Replaying needs a till or client with the admin permission",
                status_code=403,
            )
        )
    state = request.app.state
    ticket = ReplayTicket(
        caller.org_id, caller.org_timezone, caller.credential, request.state.request_id
    )
    answer = await replay_and_wait(
        state.db,
        state.ingestor,
        state.background.processor,
        ticket,
        ReplayIn.model_validate({"ids": [entry["id"]]}),
        wait=True,
    )
    return await anyio.to_thread.run_sync(
        partial(_event_page, request, console, entry, replay=answer["results"][0])
    )


@router.get("/customers")
def customers_page(request: Request, console: ConsoleCaller) -> Response:
    q = _query(request, "by", "q")
    if q["q"] is None:
        return render(request, "customers.html", {"q": q, "error": None}, console=console)
    try:
        customer_id = service.find_customer(_db(request), console[0], q["by"] or "mobile", q["q"])
    except EventrailError as exc:
        status_code, message = _failure(exc)
        if status_code == 404:
            message = "No customer found: check the value and what it is"
        return render(
            request,
            "customers.html",
            {"q": q, "error": message},
            status_code=status_code,
            console=console,
        )
    return _redirect(f"/console/customers/{customer_id}")


@router.get("/customers/{customer_id}")
def customer_page(request: Request, customer_id: str, console: ConsoleCaller) -> Response:
    if not customer_id.isdigit() or len(customer_id) > 18:
        return _not_found(request, console)
    q = _query(request, "kind", "from", "to")
    try:
        data = service.customer_page(
            _db(request),
            EventReads(_pool(request)),
            AuditReads(_pool(request)),
            console[0],
            int(customer_id),
            kind=q["kind"] or "all",
            from_date=q["from"],
            to_date=q["to"],
        )
    except NotFound:
        return _not_found(request, console)
    except EventrailError as exc:
        status_code, message = _failure(exc)
        return render(
            request,
            "customer.html",
            {"q": q, "error": message, "data": None, "customer_id": customer_id},
            status_code=status_code,
            console=console,
        )
    context = {"q": q, "error": None, "data": data, "customer_id": customer_id}
    return render(request, "customer.html", context, console=console)


@router.get("/cards/{card_id}")
def card_page(request: Request, card_id: str, console: ConsoleCaller) -> Response:
    if not card_id.isdigit() or len(card_id) > 18:
        return _not_found(request, console)
    try:
        data = service.card_page(_db(request), AuditReads(_pool(request)), console[0], int(card_id))
    except NotFound:
        return _not_found(request, console)
    return render(request, "card.html", {"data": data}, console=console)


@router.get("/definitions")
def definitions_page(request: Request, console: ConsoleCaller) -> Response:
    data = service.definitions_page(_db(request), console[0], public_base_url(request))
    return render(request, "definitions.html", {**data, "trial": None}, console=console)


@router.post("/definitions/try")
async def try_payload(request: Request, console: ConsoleCaller) -> Response:
    """The dry run of POST /webhooks/{id}?dryRun=true on a pasted payload: the verdict
    and the step that failed; nothing stored, nothing logged."""
    caller, session = console
    trial: dict[str, Any] = {"webhook": None, "payload": "", "result": None, "error": None}
    status_code = 200
    try:
        form = await _form(request, MAX_TRY_BYTES)
    except BadRequest as exc:
        form = {}
        trial["error"], status_code = exc.message, 400
    if status_code == 200 and (
        not _same_origin(request) or not csrf_ok(session.csrf, form.get("csrf"))
    ):
        return _refused(request, console)
    trial["webhook"] = form.get("webhook")
    trial["payload"] = form.get("payload", "")
    if status_code == 200:
        try:
            trial["result"] = await service.try_payload(
                request.app.state.ingestor, caller, trial["webhook"], trial["payload"]
            )
        except NotFound:
            trial["error"], status_code = "No such webhook in this org: choose one above", 404
        except EventrailError as exc:
            status_code, trial["error"] = _failure(exc)
    data = await anyio.to_thread.run_sync(
        service.definitions_page, _db(request), caller, public_base_url(request)
    )
    return render(
        request,
        "definitions.html",
        {**data, "trial": trial},
        status_code=status_code,
        console=console,
    )


# -- notification deliveries -------------------------------------------------------------
@router.get("/deliveries")
def deliveries_page(request: Request, console: ConsoleCaller) -> Response:
    """The delivery log of ``GET /v3/webHooks/eventLog`` (the same search and checks),
    and the org's notification webhooks."""
    caller = console[0]
    q = _query(request, "status", "webhook", "event", "from", "to", "cursor")
    context: dict[str, Any] = {
        "q": q,
        "states": notify_names.STATES,
        "event_names": notify_names.EVENT_NAMES,
        "webhooks": service.notification_webhooks(_db(request), caller),
        "page": None,
        "error": None,
    }
    status_code = 200
    try:
        context["page"] = service.deliveries_page(
            _db(request),
            caller,
            status=q["status"],
            webhook_id=q["webhook"],
            event_name=q["event"],
            from_date=q["from"],
            to_date=q["to"],
            cursor=q["cursor"],
            limit=PAGE_SIZE,
        )
    except EventrailError as exc:
        status_code, context["error"] = _failure(exc)
    context["names"] = {w["webHookId"]: w["name"] for w in context["webhooks"]}
    kept = {k: v for k, v in q.items() if v is not None and k != "cursor"}
    context["link"] = lambda **extra: (
        "/console/deliveries?"
        + urlencode({**kept, **{k: v for k, v in extra.items() if v is not None}})
    )
    return render(request, "deliveries.html", context, status_code=status_code, console=console)


def _delivery_page(
    request: Request,
    console: tuple[Caller, ConsoleSession],
    delivery_id: str,
    *,
    redelivered: bool = False,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    try:
        data = service.delivery_page(_db(request), console[0], delivery_id)
    except NotFound:
        return _not_found(request, console)
    context = {**data, "redelivered": redelivered, "error": error}
    return render(request, "delivery.html", context, status_code=status_code, console=console)


@router.get("/deliveries/{delivery_id}")
def delivery_page(request: Request, delivery_id: str, console: ConsoleCaller) -> Response:
    return _delivery_page(request, console, delivery_id)


@router.post("/deliveries/{delivery_id}/redeliver")
async def redeliver_delivery(
    request: Request, delivery_id: str, console: ConsoleCaller
) -> Response:
    """The Redeliver button: ``POST /v3/webHooks/eventLog/{id}/redeliver`` of this one
    delivery (the same service and rules: admin only; a pending one is left as it is)."""
    caller, session = console
    try:
        form = await _form(request)
    except BadRequest:
        form = {}
    if not _same_origin(request) or not csrf_ok(session.csrf, form.get("csrf")):
        return _refused(request, console)
    if not caller.admin:
        return await anyio.to_thread.run_sync(
            partial(
                _delivery_page,
                request,
                console,
                delivery_id,
                error="Redelivering needs a till or client with the admin permission",
                status_code=403,
            )
        )
    try:
        await anyio.to_thread.run_sync(service.redeliver, _db(request), caller, delivery_id)
    except NotFound:
        return _not_found(request, console)
    return await anyio.to_thread.run_sync(
        partial(_delivery_page, request, console, delivery_id, redelivered=True)
    )


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        raise NotFound()
    response = Response((_HERE / "static" / name).read_bytes(), media_type=media_type)
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def install(api: FastAPI) -> None:
    """Adds the console's routes and sends requests without a session to sign in."""

    async def to_sign_in(request: Request, exc: Exception) -> Response:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        response = _redirect("/console/sign-in?next=" + quote(target, safe=""))
        if SESSION_COOKIE in request.cookies:
            response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
        return response

    async def too_many(request: Request, exc: Exception) -> Response:
        response = _message(request, "Too many requests", "Rate limit exceeded: wait a minute", 429)
        if isinstance(exc, TooManyRequests):
            response.headers.update(exc.headers)
        return response

    api.add_exception_handler(SignInRequired, to_sign_in)
    api.add_exception_handler(TooManyRequests, too_many)
    api.include_router(router)
