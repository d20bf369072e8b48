"""The durable queue ``ingest_requests``, owned by ingestion: its verdict constants
(what ingestion already knows of a request) and the row a processor claims.

Processing reads this table (``processing.repository.ProcessingRepository.claim``)
and depends on ingest for it; ingest never imports processing.
"""

from __future__ import annotations

from typing import NamedTuple

# ingest_requests.verdict: 0 to process, 1 refused as unauthorised, 2 not a JSON object.
VERDICT_OK, VERDICT_UNAUTHORIZED, VERDICT_INVALID = 0, 1, 2


class Queued(NamedTuple):
    """A request waiting in ingest_requests."""

    id: int
    request_id: str
    org_id: int
    webhook_id: str
    received_at: int
    body: str
    verdict: int
    detail: str | None
    replay_of: str | None = None
