"""POST /webhooks/{id} and /batch, served by the fast lane: acknowledging an event
costs as little as possible (no framework validation; the processors validate)."""

from __future__ import annotations

from eventrail.ingest.service import Ingestor
from eventrail.kit.asgi import FastRequest, FastResponse, Route, json_response


def routes(ingestor: Ingestor) -> list[Route]:
    async def post_event(request: FastRequest) -> FastResponse:
        return json_response(await ingestor.post(request))

    async def post_batch(request: FastRequest) -> FastResponse:
        return json_response(await ingestor.post_batch(request))

    return [
        ("POST", "/webhooks/{webhook_id}", post_event),
        ("POST", "/webhooks/{webhook_id}/batch", post_batch),
    ]
