"""Ingestion's errors, in the hierarchy of ``eventrail.errors``."""

from __future__ import annotations

from eventrail.errors import ServiceUnavailable


class EventNotStored(ServiceUnavailable):
    """The ingestion queue could not be written: nothing was acknowledged (503)."""

    message = "The event could not be stored; nothing was accepted. Retry shortly."
