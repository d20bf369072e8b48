"""Ingestion's errors, in the hierarchy of ``eventrail.errors``."""

from __future__ import annotations

from eventrail.errors import BadRequest, EventrailError, ServiceUnavailable


class EventNotStored(ServiceUnavailable):
    """The ingestion queue could not be written: nothing was acknowledged (503)."""

    message = "The event could not be stored; nothing was accepted. Retry shortly."


class LoggedRefusal(Exception):
    """A post refused with ``error`` after its refusal was logged under ``request_id``
    (the answer's X-Cap-Requestid). Not an ``EventrailError``: the endpoint takes the
    id and raises ``error``."""

    def __init__(self, error: EventrailError, request_id: str) -> None:
        super().__init__(error.message)
        self.error = error
        self.request_id = request_id


# POST /v2/feed (scan events): Capillary's 73xx codes.
class FeedRefused(BadRequest):
    code = 7301
    message = "Unable to add feed"


class FeedSourceMissing(BadRequest):
    code = 7302
    message = "Missing required query parameter 'source' (source not specified): use INSTORE"


class FeedSourceInvalid(BadRequest):
    code = 7303
    message = "Invalid value for query parameter 'source' (invalid source): use INSTORE"


class FeedEventMissing(BadRequest):
    code = 7304
    message = "Missing required field 'eventName' in request body (event not passed)"


class FeedEventInvalid(BadRequest):
    code = 7305


class FeedCustomerMissing(BadRequest):
    code = 7307


class FeedCustomerInvalid(BadRequest):
    code = 7308
