"""POST /webhooks/{id} and /batch: plain ASGI handlers, kept off FastAPI's per-request
validation so that acknowledging an event costs as little as possible."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from eventrail.errors import EventrailError, error_response
from eventrail.ingest.service import Ingestor
from eventrail.kit.json import JsonResponse


async def post_event(request: Request) -> Response:
    ingestor: Ingestor = request.app.state.ingestor
    try:
        return JsonResponse(await ingestor.post(request))
    except EventrailError as exc:
        return error_response(exc)


async def post_batch(request: Request) -> Response:
    ingestor: Ingestor = request.app.state.ingestor
    try:
        return JsonResponse(await ingestor.post_batch(request))
    except EventrailError as exc:
        return error_response(exc)


routes = [
    Route("/webhooks/{webhook_id}", post_event, methods=["POST"]),
    Route("/webhooks/{webhook_id}/batch", post_batch, methods=["POST"]),
]
