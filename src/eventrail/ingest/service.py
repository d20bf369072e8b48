"""Accepting posted events: find the webhook, check credentials and the body,
commit the request durably (group commit), then acknowledge.

Nothing here validates an event against its definition: that is the
processors' work, after the answer. What ingestion refuses (bad credentials,
a body that is not a JSON object) it still queues, so that the processors
write its log entry like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass
from typing import Any, NoReturn

import anyio
import orjson

from eventrail.auth.admission import Admission
from eventrail.auth.schemas import Caller, Credentials
from eventrail.db import Database
from eventrail.errors import BadRequest, EventrailError, NotFound, ServiceUnavailable, Unauthorized
from eventrail.events.cache import WebhookCache, WebhookInfo
from eventrail.ingest.committer import GroupCommitter
from eventrail.ingest.exceptions import LoggedRefusal
from eventrail.ingest.queue import VERDICT_INVALID, VERDICT_OK, VERDICT_UNAUTHORIZED, Queued
from eventrail.ingest.waiters import Processing, ResultWaiters, Verdict
from eventrail.kit import ids, metrics
from eventrail.kit.dates import now_ms
from eventrail.kit.flight import SingleFlight
from eventrail.kit.json import payload_problem, plainly_acceptable
from eventrail.kit.params import Bool, Params, PathKey
from eventrail.kit.ratelimit import Decision
from eventrail.kit.requests import require_json

ACK = {"code": 1100, "message": "Event is pushed to transformation state"}
BATCH_ACK = {"code": 1100, "message": "Events are pushed to transformation state"}
MAX_BATCH = 1000
ENDPOINT = "POST /webhooks/{webhook_id}"
BATCH_ENDPOINT = "POST /webhooks/{webhook_id}/batch"
WAIT_SECONDS = 30.0
# How often a ?wait=true post looks for its verdict in the log (written by a
# processor in another process): every LOG_CHECK_SECONDS when this process has
# processors of its own (they answer it directly); without them from
# FIRST_LOG_CHECK_SECONDS, doubling up to LOG_CHECK_SECONDS.
LOG_CHECK_SECONDS = 0.5
FIRST_LOG_CHECK_SECONDS = 0.02
_WEBHOOK_ID = re.compile(r"^[0-9a-f]{32}$")
# Refused posts: logged at most this much of their body, and counted per source
# address and webhook, past which they are refused with 429 and not logged at all.
REFUSED_BODY_BYTES = 4096
REFUSALS_PER_MINUTE = 60


def _text(body: bytes) -> str:
    # What is logged as inputRequest: the body as received. No text column can
    # hold a NUL, so a raw NUL byte (never valid JSON anyway) is shown as U+FFFD.
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


# The webhooks' parameters, declared once (kit/params.py): parsed here, documented
# by openapi.py. An id not of this form is looked up no further (404). ?wait= is a
# boolean like every other (kit.requests.query_bool): an empty value is a 400.
WEBHOOK_PARAMS = Params(
    PathKey("webhook_id", _WEBHOOK_ID.pattern, "The webhook"),
    Bool("wait", "Answer after processing, with the result", default=False),
    Bool(
        "dryRun",
        "Run the pipeline and answer its verdict and the step that failed, storing and "
        "logging nothing (credentials and rate limit as for a post)",
        default=False,
    ),
)


def _declared_size(content_length: str | None) -> str:
    if content_length is not None and content_length.isdigit() and len(content_length) <= 12:
        return f"{int(content_length)} bytes"
    return f"over {REFUSED_BODY_BYTES} bytes"


# The event name of a body whose first key it is, read from the prefix of a body
# too large to be read whole.
_LEADING_EVENT_NAME = re.compile(rb'^\s*\{\s*"event_name"\s*:\s*"([^"\\]{1,200})"')


def _unauthorized_body(prefix: bytes, complete: bool, content_length: str | None) -> str:
    """What a post refused for its credentials logs: its body when it is at most
    REFUSED_BODY_BYTES; past that only what tells the post apart (its event name,
    when it leads the body), never the megabyte a stranger sent with it, of which
    no more than REFUSED_BODY_BYTES was read."""
    if complete:
        return _text(prefix)
    kept: dict[str, Any] = {
        "eventrailNote": f"the body of this refused post ({_declared_size(content_length)}) "
        "was not kept"
    }
    name = _LEADING_EVENT_NAME.match(prefix)
    if name is not None:
        kept["event_name"] = name.group(1).decode("utf-8", errors="replace")
    return orjson.dumps(kept).decode()


def _body_problem(raw: bytes) -> str | None:
    """Why one event's body is refused before processing (None: it is not)."""
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "the request body is not valid JSON"
    if not isinstance(payload, dict):
        return "the request body is not a JSON object"
    if plainly_acceptable(raw):  # most events: no walk of the document
        return None
    return payload_problem(payload)


@dataclass(slots=True)  # not frozen: built for every post (frozen costs 4x)
class Sender:
    """What admission needs of a post, taken from its headers before its body is read."""

    credentials: Credentials
    content_type: str | None
    content_length: str | None
    has_body: bool


@dataclass(slots=True)
class Admitted:
    """A post whose webhook exists and whose sender passed admission: the decision of
    the budget it was charged to (its headers go on the answer), or ``refused``: its
    credentials were refused, within its source's refusal budget, so it is to be
    logged and answered 401 (``Ingestor.refuse``)."""

    webhook: WebhookInfo
    sender: Sender
    rate_limit: Decision | None = None
    refused: bool = False
    wait: bool = False  # answer after processing, with the verdict
    dry_run: bool = False  # run the pipeline, store nothing


@dataclass(slots=True)  # not frozen: built for every request (frozen costs 4x)
class Acknowledged:
    """An accepted post: its log entries' ids and the answer."""

    request_ids: list[str]
    answer: dict[str, Any]


class Ingestor:
    """Accepting posts in two steps, so that nothing is read of a body before its
    sender is admitted: ``webhook`` then ``admit`` (headers only), then ``accept`` or
    ``accept_batch`` with the body, or ``refuse`` with at most REFUSED_BODY_BYTES of
    it. Refusals that are logged raise ``LoggedRefusal`` (its ``request_id`` is the
    log entry's). HTTP stays in ``endpoints.py``."""

    def __init__(
        self,
        db: Database,
        admission: Admission,
        committer: GroupCommitter,
        waiters: ResultWaiters,
        processing: Processing,
        *,
        processors_here: bool = True,
    ) -> None:
        self.db = db
        self.admission = admission
        self.committer = committer
        self.waiters = waiters
        self.processing = processing
        self.first_log_check = LOG_CHECK_SECONDS if processors_here else FIRST_LOG_CHECK_SECONDS
        self.webhooks = WebhookCache(db)
        self._lookups = SingleFlight()

    # -- admission, before the body ------------------------------------------------
    async def webhook(self, webhook_id: str) -> WebhookInfo:
        """The enabled webhook of this id (404 otherwise)."""
        if not _WEBHOOK_ID.match(webhook_id):
            raise NotFound("Incorrect resource: no such webhook")
        found, info = self.webhooks.cached(webhook_id)
        if not found:
            info = await self._lookups.run(("webhook", webhook_id), self.webhooks.get, webhook_id)
        if info is None or not info.enabled:
            raise NotFound("Incorrect resource: no such webhook")
        return info

    async def admit(
        self, webhook: WebhookInfo, sender: Sender, endpoint: str, *, dry_run: bool = False
    ) -> Admitted:
        """Credentials (when the webhook wants them), then the rate limit: of (org,
        credential, endpoint) for a caller, of (org, source address, endpoint) for an
        anonymous sender, so that strangers who know an open webhook's URI spend
        their own budget and not the real sender's.

        A post refused for its credentials is charged to its source's refusal budget
        (REFUSALS_PER_MINUTE per webhook: 429 past it, logged nothing) and comes back
        ``refused``; a refused dry run is answered 401 at once (it logs nothing)."""
        require_json(sender.content_type, sender.has_body)
        credentials = sender.credentials
        if not webhook.auth_enabled:
            decision = await self.admission.charge(
                webhook.rate_limit, str(webhook.org_id), f"source:{credentials.source}", endpoint
            )
            return Admitted(webhook, sender, decision)
        try:
            caller: Caller | None = await self.admission.caller(credentials)
        except Unauthorized:
            caller = None
        if caller is None or caller.org_id != webhook.org_id:
            await self.admission.charge(
                REFUSALS_PER_MINUTE,
                "refused",
                webhook.id,
                credentials.source,
                budget="refused_posts",
            )
            if dry_run:
                raise Unauthorized()
            return Admitted(webhook, sender, refused=True)
        decision = await self.admission.charge(
            webhook.rate_limit, str(webhook.org_id), caller.credential, endpoint
        )
        return Admitted(webhook, sender, decision)

    async def refuse(self, admitted: Admitted, prefix: bytes, complete: bool) -> None:
        """Log a post refused for its credentials with at most REFUSED_BODY_BYTES of
        its body (``prefix``; ``complete`` when that is all of it), then refuse it."""
        body = _unauthorized_body(prefix, complete, admitted.sender.content_length)
        await self._refuse(
            [self._row(admitted.webhook, body, VERDICT_UNAUTHORIZED)], Unauthorized()
        )

    def _row(
        self, webhook: WebhookInfo, body: str, verdict: int, detail: str | None = None
    ) -> dict[str, Any]:
        return {
            "request_id": ids.uuid4_str(),
            "org_id": webhook.org_id,
            "webhook_id": webhook.id,
            "received_at": now_ms(),
            "body": body,
            "verdict": verdict,
            "detail": detail,
        }

    async def _refuse(self, rows: list[dict[str, Any]], error: EventrailError) -> NoReturn:
        """Log a refused post (best effort: it was not acknowledged), then refuse it.
        Its X-Cap-Requestid is the id of that log entry."""
        with contextlib.suppress(ServiceUnavailable):
            await self.committer.submit(rows)
        raise LoggedRefusal(error, rows[0]["request_id"])

    async def verdicts(
        self, org_id: int, request_ids: list[str], futures: list[asyncio.Future[Verdict]]
    ) -> list[Verdict | None]:
        """The processors' verdicts, waiting up to WAIT_SECONDS (less when the server
        stops meanwhile); None where not yet known."""
        deadline = time.monotonic() + WAIT_SECONDS
        results: list[Verdict | None] = [None] * len(request_ids)
        pending = dict(enumerate(futures))
        interval = self.first_log_check
        while pending and time.monotonic() < deadline:
            stopping = self.waiters.closed
            done, _ = await asyncio.wait(pending.values(), timeout=0 if stopping else interval)
            interval = min(interval * 2, LOG_CHECK_SECONDS)
            for index, future in list(pending.items()):
                if future in done:
                    results[index] = future.result()
                    del pending[index]
            if pending:  # processed by another server process? look in the log
                found = await anyio.to_thread.run_sync(
                    self.processing.logged, org_id, [request_ids[i] for i in pending]
                )
                for index in list(pending):
                    if request_ids[index] in found:
                        results[index] = found[request_ids[index]]
                        del pending[index]
            if stopping:
                break
        for rid in request_ids:
            self.waiters.discard(rid)
        return results

    @staticmethod
    def result(verdict: Verdict | None) -> dict[str, Any]:
        if verdict is None:
            return {"status": None, "message": "Not processed yet: see GET /v2/events/logs"}
        return {"status": verdict[0], "message": verdict[1]}

    # -- POST /webhooks/{id} ------------------------------------------------------------
    async def accept(self, admitted: Admitted, raw: bytes) -> Acknowledged:
        """Queue one event (committed before this returns), or for a dry run run the
        pipeline on it and store nothing; with ``wait``, answer its verdict too."""
        webhook, wait, dry = admitted.webhook, admitted.wait, admitted.dry_run
        body = _text(raw)
        problem = _body_problem(raw)
        if problem is not None:
            detail = f"Invalid payload: {problem}"
            if dry:  # logs nothing
                raise BadRequest(detail)
            await self._refuse(
                [self._row(webhook, body, VERDICT_INVALID, detail)], BadRequest(detail)
            )
        row = self._row(webhook, body, VERDICT_OK)
        if dry:
            return Acknowledged([], await self._dry_run(row))
        future = self.waiters.register(row["request_id"]) if wait else None
        try:
            await self.committer.submit([row])
        except ServiceUnavailable:
            self.waiters.discard(row["request_id"])
            raise
        metrics.acknowledged()
        answer: dict[str, Any] = {"status": ACK, "requestId": row["request_id"]}
        if future is not None:
            [verdict] = await self.verdicts(webhook.org_id, [row["request_id"]], [future])
            answer["result"] = self.result(verdict)
        return Acknowledged([row["request_id"]], answer)

    async def try_payload(self, webhook_id: str, org_id: int, raw: bytes) -> dict[str, Any]:
        """The console's "try a payload": the dry run ``?dryRun=true`` gives, for a
        webhook of ``org_id`` (another org's is not found); 400 for a body it refuses."""
        webhook = await self.webhook(webhook_id)
        if webhook.org_id != org_id:
            raise NotFound("Incorrect resource: no such webhook")
        problem = _body_problem(raw)
        if problem is not None:
            raise BadRequest(f"Invalid payload: {problem}")
        return await self._dry_run(self._row(webhook, _text(raw), VERDICT_OK))

    async def _dry_run(self, row: dict[str, Any]) -> dict[str, Any]:
        """?dryRun=true: the verdict and the step that failed; nothing stored or logged."""
        queued = Queued(
            id=0,
            request_id=row["request_id"],
            org_id=row["org_id"],
            webhook_id=row["webhook_id"],
            received_at=row["received_at"],
            body=row["body"],
            verdict=VERDICT_OK,
            detail=None,
        )
        verdict = await anyio.to_thread.run_sync(self.processing.dry_run, queued)
        return {"dryRun": True, "result": verdict}

    # -- POST /webhooks/{id}/batch --------------------------------------------------
    async def accept_batch(self, admitted: Admitted, raw: bytes) -> Acknowledged:
        """Queue the events of ``{"events": [...]}`` (committed before this returns)."""
        webhook, wait = admitted.webhook, admitted.wait
        body = _text(raw)
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:
            document = None
        events = document.get("events") if isinstance(document, dict) else None
        if not isinstance(events, list) or not 1 <= len(events) <= MAX_BATCH:
            detail = (
                'Invalid payload: the body must be {"events": [...]} with 1 to '
                f"{MAX_BATCH} events"
            )
            await self._refuse(
                [self._row(webhook, body, VERDICT_INVALID, detail)], BadRequest(detail)
            )
        assert isinstance(events, list)
        rows = []
        for event in events:
            text = orjson.dumps(event).decode()
            problem = (
                "the event is not a JSON object"
                if not isinstance(event, dict)
                else payload_problem(event)
            )
            if problem is None:
                rows.append(self._row(webhook, text, VERDICT_OK))
            else:
                rows.append(
                    self._row(webhook, text, VERDICT_INVALID, f"Invalid payload: {problem}")
                )
        ids = [row["request_id"] for row in rows]
        futures = [self.waiters.register(rid) for rid in ids] if wait else []
        try:
            await self.committer.submit(rows)
        except ServiceUnavailable:
            for rid in ids:
                self.waiters.discard(rid)
            raise
        metrics.acknowledged(len(rows))
        answer: dict[str, Any] = {"status": BATCH_ACK, "requestIds": ids}
        if wait:
            answer["results"] = [
                self.result(v) for v in await self.verdicts(webhook.org_id, ids, futures)
            ]
        return Acknowledged(ids, answer)
