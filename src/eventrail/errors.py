"""The one error hierarchy of eventrail, and its one renderer.

Every failure a client can see is an ``EventrailError``: it carries the HTTP
status, Capillary's numeric ``code`` and a message that names what is wrong.
The handler renders Capillary's error envelope::

    {"warnings": [], "errors": [{"status": false, "code": <int>, "message": "<text>"}]}

Hierarchy (feature packages subclass these in their ``exceptions.py`` with
Capillary's codes, e.g. ``customers.exceptions.CustomerNotFound``)::

    EventrailError
    ├── BadRequest            400  malformed or invalid input (code 400 unless a domain code)
    ├── Unauthorized          401  wrong or missing credentials (code 401)
    ├── Forbidden             403  authenticated but not allowed (code 4000)
    │   └── AdminRequired     403  org configuration without the admin permission (code 403)
    ├── NotFound              404  unknown path or object (code 404)
    ├── MethodNotAllowed      405
    ├── RequestTimeout        408  headers or body not received in time (then closed)
    ├── PayloadTooLarge       413
    ├── UnsupportedMediaType  415
    ├── HeadersTooLarge       431  a header line or the header block over its bound
    ├── RateLimited           429
    ├── InternalError         500  a bug: logged with its traceback, answered without detail
    └── ServiceUnavailable    503  the database cannot serve now (with Retry-After)

:func:`error_body` is the one renderer: the middleware, the fast lane, the
guarded HTTP protocol (which answers before any ASGI app runs) and FastAPI's
handlers all turn an error into its envelope through it.

Framework errors (FastAPI's request validation, Starlette's HTTP exceptions)
are translated into the same envelope; the database's connection-level errors
(``kit.dbhealth.unavailable_errors``) into ServiceUnavailable, logged once per
outage; anything else is a bug, logged with its traceback (``kit.logsafe``:
never the error's text) on the server and answered with a bare 500 envelope.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

# FastAPI and Starlette are imported where they are used: the command line raises
# these errors without loading the web stack.
if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from starlette.responses import Response

    from eventrail.kit.json import JsonResponse

# What a 503 asks the client to wait before trying again.
RETRY_AFTER_SECONDS = 5

log = logging.getLogger("eventrail")


class EventrailError(Exception):
    status_code: int = 400
    code: int = 400
    message: str = "Invalid input"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: int | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(EventrailError):
    status_code = 400
    code = 400


class Unauthorized(EventrailError):
    status_code = 401
    code = 401
    message = "Please check your username/password or authentication token"


class Forbidden(EventrailError):
    status_code = 403
    code = 4000
    message = "Not authorized. Access is denied!"


class AdminRequired(Forbidden):
    """The caller's till or OAuth client lacks the admin permission that org
    configuration (settings, labels, series, fields, groups, event definitions,
    webhooks, transformer mappings) and its history need."""

    code = 403
    message = (
        "Not authorized: changing the org's configuration needs an admin till or client "
        "(eventrail till create --admin, eventrail client create --admin)"
    )


class NotFound(EventrailError):
    status_code = 404
    code = 404
    message = "Incorrect resource"


class MethodNotAllowed(EventrailError):
    status_code = 405
    code = 405
    message = "Operation not supported for resource"


class PayloadTooLarge(EventrailError):
    """Answered before the body is read, so the connection closes after it (the
    server reads and drops a bounded rest of the body first: kit/server.py)."""

    status_code = 413
    code = 413
    message = "Request body is larger than 1 MiB"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Connection", "close")


class UnsupportedMediaType(EventrailError):
    status_code = 415
    code = 415
    message = "Unsupported media type: Content-Type must be application/json"


class RateLimited(EventrailError):
    status_code = 429
    code = 429
    message = "Rate limit exceeded"


class ServiceUnavailable(EventrailError):
    status_code = 503
    code = 503
    message = "The database is unavailable; nothing was changed. Retry shortly."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))


class RequestTimeout(EventrailError):
    status_code = 408
    code = 408
    message = "Request not received in time"


class HeadersTooLarge(EventrailError):
    status_code = 431
    code = 431
    message = "Request headers too large"


class InternalError(EventrailError):
    status_code = 500
    code = 500
    message = "All requests have failed due to errors"


def error_item(exc: EventrailError) -> dict[str, Any]:
    """One entry of an ``errors`` list (also the per-item error of a batch answer)."""
    return {"status": False, "code": exc.code, "message": exc.message}


def error_body(exc: EventrailError) -> dict[str, Any]:
    """The envelope of ``exc``: every transport renders errors through this."""
    return {"warnings": [], "errors": [error_item(exc)]}


def error_response(exc: EventrailError) -> JsonResponse:
    from eventrail.kit.json import JsonResponse

    return JsonResponse(error_body(exc), status_code=exc.status_code, headers=exc.headers)


def _loc_name(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def describe_validation_error(errors: Sequence[Any]) -> str:
    """One sentence naming the first offending parameter or field."""
    if not errors:
        return "Invalid input"
    err = errors[0]
    loc = list(err.get("loc", ()))
    kind = err.get("type", "")
    where = loc[0] if loc else "body"
    name = _loc_name(loc[1:])
    if kind == "json_invalid":
        return "Request body is not valid JSON"
    if where == "body":
        if not loc[1:]:
            if kind == "missing":
                return "Request body is required"
            return f"Invalid request body: {err.get('msg', 'invalid')}"
        if kind == "missing":
            return f"Missing required field '{name}' in request body"
        return f"Invalid value for field '{name}' in request body: {err.get('msg', 'invalid')}"
    label = {"query": "query parameter", "path": "path parameter", "header": "header"}.get(
        str(where), str(where)
    )
    if kind == "missing":
        return f"Missing required {label} '{name}'"
    return f"Invalid value for {label} '{name}': {err.get('msg', 'invalid')}"


async def _eventrail_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, EventrailError)
    return error_response(exc)


async def _validation_error(_: Request, exc: Exception) -> Response:
    from fastapi.exceptions import RequestValidationError

    assert isinstance(exc, RequestValidationError)
    return error_response(BadRequest(describe_validation_error(exc.errors())))


_HTTP_ERRORS: dict[int, type[EventrailError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    429: RateLimited,
}


async def _http_error(_: Request, exc: Exception) -> Response:
    from starlette.exceptions import HTTPException as StarletteHTTPException

    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's only own 400: a body it could not decode (e.g. invalid UTF-8).
        return error_response(BadRequest(f"Request body is not valid JSON: {exc.detail}"))
    cls = _HTTP_ERRORS.get(exc.status_code)
    if cls is not None:
        return error_response(cls())
    if 400 <= exc.status_code < 500:
        return error_response(BadRequest(str(exc.detail), status_code=exc.status_code))
    log.error("HTTP %s raised as an exception", exc.status_code)
    return error_response(InternalError())


async def _unavailable(request: Request, exc: Exception) -> Response:
    request.app.state.db.health.failed(exc)
    return error_response(ServiceUnavailable())


async def _unexpected(_: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return error_response(InternalError())


def install_error_handlers(app: FastAPI) -> None:
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app.add_exception_handler(EventrailError, _eventrail_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    from eventrail.kit.dbhealth import unavailable_errors

    app.add_exception_handler(StarletteHTTPException, _http_error)
    for unavailable in unavailable_errors():
        app.add_exception_handler(unavailable, _unavailable)
    app.add_exception_handler(Exception, _unexpected)
