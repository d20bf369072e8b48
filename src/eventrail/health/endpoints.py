"""GET /health (the process answers), GET /ready (it can do its work) and GET
/metrics (Prometheus' text format).

None is rate limited, and none says anything about any org: load balancers,
orchestrators and Prometheus call them, often. /metrics wants a bearer token when
``EVENTRAIL_METRICS_TOKEN`` is set; the others need no credentials.
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request
from starlette.responses import Response

from eventrail.auth.admission import read_credentials
from eventrail.config import Settings
from eventrail.errors import ServiceUnavailable, Unauthorized, error_body
from eventrail.health.schemas import Liveness, ReadinessOut
from eventrail.health.service import Readiness, Report, queue_metrics
from eventrail.kit import metrics
from eventrail.kit.json import JsonResponse
from eventrail.kit.security import constant_time_equals

router = APIRouter(tags=["operations"])

READY_TIMEOUT_SECONDS = 5.0


@router.get(
    "/health",
    summary="Liveness: the process is up (no database access)",
    response_model=None,
    responses={200: {"model": Liveness}},
)
async def health() -> dict[str, str]:
    return {"status": "up"}


@router.get(
    "/ready",
    summary="Readiness: database, schema, processors and ingestion queue",
    response_model=None,
    responses={
        200: {"model": ReadinessOut},
        503: {"description": "Not ready; the reasons are in `errors`"},
    },
)
async def ready(request: Request) -> JsonResponse:
    readiness: Readiness = request.app.state.readiness
    report: Report | None = None
    with anyio.move_on_after(READY_TIMEOUT_SECONDS):
        report = await anyio.to_thread.run_sync(readiness.report, abandon_on_cancel=True)
    if report is None:
        report = Report(checks={"database": "no answer"}, problems=["the database does not answer"])
    body: dict[str, Any]
    if report.ready:
        body = {"status": "ready", "checks": report.checks, "warnings": report.warnings}
        return JsonResponse(body)
    refusal = ServiceUnavailable("Not ready: " + "; ".join(report.problems))
    body = error_body(refusal)
    body["warnings"] = report.warnings
    body["status"] = "not ready"
    body["checks"] = report.checks
    return JsonResponse(body, status_code=refusal.status_code, headers=refusal.headers)


def _check_metrics_token(request: Request, settings: Settings) -> None:
    """401 unless the request carries ``Authorization: Bearer <EVENTRAIL_METRICS_TOKEN>``
    (when it is set); compared in constant time."""
    if settings.metrics_token is None:
        return
    scope = request.scope
    given = read_credentials(scope["headers"], scope.get("client")).authorization or ""
    scheme, _, token = given.strip().partition(" ")
    expected = settings.metrics_token.get_secret_value()
    if not (scheme.lower() == "bearer" and constant_time_equals(token.strip(), expected)):
        raise Unauthorized(headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


@router.get(
    "/metrics",
    summary="Prometheus metrics: requests, events, queue, processors, rate limits, database",
    description="Prometheus' text format, added up over every process of the server "
    "(and over `eventrail process` when they share EVENTRAIL_METRICS_DIR). Aggregate only: "
    "no org, customer, event name or till appears in it. With EVENTRAIL_METRICS_TOKEN "
    "set, it wants `Authorization: Bearer <token>`.",
    response_class=Response,
    responses={
        200: {"content": {metrics.CONTENT_TYPE: {}}, "description": "the metrics"},
        401: {"description": "EVENTRAIL_METRICS_TOKEN is set and was not given"},
    },
)
async def prometheus_metrics(request: Request) -> Response:
    _check_metrics_token(request, request.app.state.settings)
    computed = None
    with anyio.move_on_after(READY_TIMEOUT_SECONDS):
        computed = await anyio.to_thread.run_sync(
            queue_metrics, request.app.state.db, abandon_on_cancel=True
        )
    metrics.publish()  # what this process tallied, written on its loop
    body = await anyio.to_thread.run_sync(metrics.exposition, computed or [])
    return Response(body, media_type=metrics.CONTENT_TYPE)
