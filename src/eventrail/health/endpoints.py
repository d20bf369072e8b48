"""GET /health (the process answers) and GET /ready (it can do its work).

Neither needs credentials nor is rate limited, and neither says anything about
any org: load balancers and orchestrators call them, often.
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request

from eventrail.errors import ServiceUnavailable, error_body
from eventrail.health.schemas import Liveness, ReadinessOut
from eventrail.health.service import Readiness, Report
from eventrail.kit.json import JsonResponse

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
