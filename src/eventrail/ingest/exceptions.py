"""Ingestion's errors, in the hierarchy of ``eventrail.errors``."""

from __future__ import annotations

from eventrail.errors import BadRequest, ServiceUnavailable


class EventNotStored(ServiceUnavailable):
    """The ingestion queue could not be written: nothing was acknowledged (503)."""

    message = "The event could not be stored; nothing was accepted. Retry shortly."


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
