"""Ingestion's errors, in the hierarchy of ``eventrail.errors``."""

from __future__ import annotations

from eventrail.errors import EventrailError, ServiceUnavailable


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
