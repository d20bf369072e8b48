"""POST /webhooks/{id} and /batch, served by the fast lane: acknowledging an event
costs as little as possible (no framework validation; the processors validate)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from eventrail.deps import CurrentCaller
from eventrail.ingest import feed
from eventrail.ingest.schemas import FeedAck, FeedIn
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


# -- POST /v2/feed: not hot; a FastAPI route (its body is a pydantic model) --------------
feed_router = APIRouter(tags=["webhooks"])


@feed_router.post(
    "/v2/feed",
    summary="Post a scan event (QR code, menu click, get-promotion): queued like a webhook post",
    response_model=FeedAck,
)
async def post_feed(
    request: Request,
    body: FeedIn,
    caller: CurrentCaller,
    source: str | None = Query(
        default=None, max_length=40, description="Where the scan was made: INSTORE"
    ),
) -> Any:
    state = request.app.state
    return await feed.post_feed(state.db, state.ingestor, caller, source, body)
