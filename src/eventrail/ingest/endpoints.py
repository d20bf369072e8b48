"""POST /webhooks/{id} and /batch, served by the fast lane: acknowledging an event
costs as little as possible (no framework validation; the processors validate).

The sender is admitted before the body is read (``body_after_admission``): a post
refused for its credentials or a budget is answered without the server reading
more than ``REFUSED_BODY_BYTES`` of what was sent (the server drops the rest,
kit/server.py). HTTP stays here; ``Ingestor`` takes values."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from eventrail.auth.admission import read_credentials
from eventrail.deps import CurrentCaller
from eventrail.errors import BadRequest
from eventrail.ingest import feed
from eventrail.ingest.exceptions import LoggedRefusal
from eventrail.ingest.schemas import FeedAck, FeedIn
from eventrail.ingest.service import (
    BATCH_ENDPOINT,
    ENDPOINT,
    REFUSED_BODY_BYTES,
    WEBHOOK_PARAMS,
    Admitted,
    Ingestor,
    Sender,
)
from eventrail.kit.asgi import (
    FastRequest,
    FastResponse,
    Route,
    body_after_admission,
    json_response,
)

_NO_BATCH_DRY_RUN = (
    "Invalid value for query parameter 'dryRun': a dry run takes one event; "
    "post it to /webhooks/{webhookId}"
)


def _sender(request: FastRequest) -> Sender:
    """What admission reads of a post: its headers (the body is not read yet)."""
    headers = request.headers
    length = headers.get("content-length")
    has_body = length != "0" if length is not None else "transfer-encoding" in headers
    return Sender(
        read_credentials(request.scope["headers"], request.scope.get("client")),
        headers.get("content-type"),
        length,
        has_body,
    )


def _flags(request: FastRequest) -> tuple[bool, bool]:
    """(?wait, ?dryRun)."""
    parsed = WEBHOOK_PARAMS.parse(request.query, request.path_params)
    return bool(parsed["wait"]), bool(parsed["dryRun"])


def routes(ingestor: Ingestor) -> list[Route]:
    async def admit(request: FastRequest, endpoint: str, *, single: bool) -> Admitted:
        """The webhook (404), the flags (400), then the sender admitted before its
        body is read; a post refused for its credentials is logged with at most
        REFUSED_BODY_BYTES of its body, and refused."""
        webhook = await ingestor.webhook(request.path_params["webhook_id"])
        wait, dry = _flags(request)
        if dry and not single:
            raise BadRequest(_NO_BATCH_DRY_RUN)
        admitted = await ingestor.admit(webhook, _sender(request), endpoint, dry_run=dry)
        admitted.wait, admitted.dry_run = wait, dry
        request.rate_limit = admitted.rate_limit
        if admitted.refused:
            prefix, complete = await request.read_prefix(REFUSED_BODY_BYTES)
            await ingestor.refuse(admitted, prefix, complete)
        return admitted

    @body_after_admission
    async def post_event(request: FastRequest) -> FastResponse:
        try:
            admitted = await admit(request, ENDPOINT, single=True)
            accepted = await ingestor.accept(admitted, await request.read_body())
        except LoggedRefusal as refusal:  # its X-Cap-Requestid is its log entry's
            request.request_id = refusal.request_id
            raise refusal.error from None
        if accepted.request_ids:
            request.request_id = accepted.request_ids[0]
        return json_response(accepted.answer)

    @body_after_admission
    async def post_batch(request: FastRequest) -> FastResponse:
        try:
            admitted = await admit(request, BATCH_ENDPOINT, single=False)
            accepted = await ingestor.accept_batch(admitted, await request.read_body())
        except LoggedRefusal as refusal:
            request.request_id = refusal.request_id
            raise refusal.error from None
        return json_response(accepted.answer)

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
