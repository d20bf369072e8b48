"""Event definition and webhook errors, with Capillary's codes."""

from __future__ import annotations

from eventrail.errors import BadRequest, NotFound


class InvalidFieldAttribute(BadRequest):
    code = 1802


class EventExists(BadRequest):
    code = 1806

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} event already exists")


class TransformerMissing(BadRequest):
    code = 1808
    message = "customer event transformer not present"


class InvalidActions(BadRequest):
    code = 1810

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} event actions invalid: use EMFConsumer and/or EIConsumer")


class InvalidEventName(BadRequest):
    code = 1811


class InvalidFieldType(BadRequest):
    code = 1823


class AuthMechanismMissing(BadRequest):
    code = 1839
    message = "auth mechanism not present: authMechanism must be BASIC or OAUTH"


class EventNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"Event {name} not found")


class WebhookNotFound(NotFound):
    message = "Webhook not found"
