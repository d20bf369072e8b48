"""One access line and one count in the metrics per HTTP request, whichever lane
serves it.

:class:`AccessLogMiddleware` wraps the whole application (the fast lane and
FastAPI behind it), so every request gets exactly one line, refusals by the
guards and errors included: method, route, status, duration, request id and
org. It logs the route's *template* (``/v2/customers/{customer_id}``), never
the path or the query string, which carry customer identifiers; the request id
is the ``X-Cap-Requestid`` of the answer; the org is the caller's, when
admission identified one (:func:`note_org`), else null.

Uvicorn's own access log stays off (``eventrail serve`` runs it with
``access_log=False``): it would add a second line per request, holding the raw
path and query string.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eventrail.kit import metrics
from eventrail.kit.logsafe import ACCESS_LOGGER

log = logging.getLogger(ACCESS_LOGGER)

_REQUEST_ID = b"x-cap-requestid"
# The human-readable line; JsonFormatter writes the same fields as JSON.
_TEXT = "%(method)s %(route)s %(status)s %(durationMs).1fms request %(requestId)s org %(orgId)s"


class _Seen:
    """What the request's handling learnt that the answer does not show."""

    __slots__ = ("org_id",)

    def __init__(self) -> None:
        self.org_id: int | None = None


_seen: ContextVar[_Seen | None] = ContextVar("eventrail_access_seen", default=None)


def note_org(org_id: int) -> None:
    """Puts ``org_id`` on the access line of the request being handled (if any)."""
    seen = _seen.get()
    if seen is not None:
        seen.org_id = org_id


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class AccessLogMiddleware:
    """Logs each HTTP request once it has been answered (or has failed), and counts
    and times it in the metrics (``kit/metrics.py``) by method, route template and
    status: the one layer that sees every request.

    The metrics' route label is the template of the route that served the request
    (``scope["route"]``, set by FastAPI's router and by the fast lane); without one
    (a refusal before routing, the framework's own pages) ``route_of`` names it, or
    it counts as ``unmatched``: never the raw path, which holds ids. The counts are
    tallied in memory and written to the metrics once a second
    (``kit/metrics.RequestTally``)."""

    def __init__(
        self, app: ASGIApp, route_of: Callable[[Scope], str | None] = lambda _: None
    ) -> None:
        self.app = app
        self.route_of = route_of
        self._tally = metrics.RequestTally()

    def _count(
        self, scope: Scope, template: str | None, status: int, seconds: float, now: float
    ) -> None:
        if template is None:
            template = self.route_of(scope) or metrics.UNMATCHED
        method = scope["method"]
        self._tally.add(method if method in _METHODS else "other", template, status, seconds, now)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # What only the access line shows (the org, the request id) is gathered only
        # when the line is written: the metrics need the status alone.
        logging_on = log.isEnabledFor(logging.INFO)
        seen = _Seen() if logging_on else None
        token = _seen.set(seen) if seen is not None else None
        status: int | None = None
        headers: Any = ()

        async def send_noted(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", ())
            await send(message)

        try:
            await self.app(scope, receive, send_noted)
        except BaseException:
            status = status or 500  # uvicorn answers 500 when nothing was sent
            raise
        finally:
            if token is not None:
                _seen.reset(token)
            now = time.perf_counter()
            elapsed = now - started
            # FastAPI's route or the fast lane's: both have the template as .path
            template: str | None = getattr(scope.get("route"), "path", None)
            self._count(scope, template, status or 0, elapsed, now)
            if seen is not None:
                request_id = next(
                    (v.decode("latin-1") for k, v in headers if k.lower() == _REQUEST_ID), None
                )
                fields = {
                    "method": scope["method"],
                    "route": template,
                    "status": status,
                    "durationMs": round(elapsed * 1000, 2),
                    "requestId": request_id,
                    "orgId": seen.org_id,
                }
                # log.info() without its search of the stack for the caller's line:
                # always this one.
                log.handle(
                    log.makeRecord(ACCESS_LOGGER, logging.INFO, __file__, 0, _TEXT, (fields,), None)
                )
