"""Errors of the notification webhooks and their delivery log."""

from __future__ import annotations

from eventrail.errors import BadRequest, NotFound


class WebhookNotFound(NotFound):
    message = "Webhook not found"


class DeliveryNotFound(NotFound):
    message = "Event log not found"


class InvalidField(BadRequest):
    """A 400 naming the field, as every body error does."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"Invalid value for field '{field}': {reason}")
