"""The fixed vocabularies that org configuration refers to."""

from __future__ import annotations

CUSTOMER = "CUSTOMER"
CARD = "CARD"
ENTITY_TYPES = (CUSTOMER, CARD)

CUSTOMER_STATUSES = (
    "ACTIVE",
    "SUSPENDED",
    "DELETED",
    "FRAUD_SUSPECTED",
    "FRAUD_CONFIRMED",
    "INTERNAL",
    "PENDING_DELETION",
)
CARD_STATUSES = ("NOT_ISSUED", "ISSUED", "ACTIVE", "SUSPENDED", "EXPIRED", "DELETED")

FIELD_KINDS = ("custom", "extended")
FIELD_DATA_TYPES = ("string", "integer", "double", "boolean", "date")
MAX_AUDITED_FIELDS = 5
