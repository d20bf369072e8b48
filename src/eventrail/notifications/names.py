"""The notification names eventrail emits, and the limits of a webhook."""

from __future__ import annotations

from collections.abc import Iterable

CUSTOMER_ADDED = "customerAdded"
CUSTOMER_UPDATED = "customerUpdated"
CUSTOMER_IDENTIFIER_CHANGED = "customerIdentifierChanged"
CUSTOMER_MERGE = "loyaltyCustomerMerge"
CUSTOMER_STATUS_CHANGED = "customerStatusChanged"
CARD_ADDED = "cardAdded"
CARD_UPDATED = "cardUpdated"
GROUP_CREATED = "groupCreated"
GROUP_MEMBER_ADDED = "groupMemberAdded"
GROUP_MEMBER_REMOVED = "groupMemberRemoved"
EVENT_PROCESSED = "behaviouralEventProcessed"

EVENT_NAMES = (
    CUSTOMER_ADDED,
    CUSTOMER_UPDATED,
    CUSTOMER_IDENTIFIER_CHANGED,
    CUSTOMER_MERGE,
    CUSTOMER_STATUS_CHANGED,
    CARD_ADDED,
    CARD_UPDATED,
    GROUP_CREATED,
    GROUP_MEMBER_ADDED,
    GROUP_MEMBER_REMOVED,
    EVENT_PROCESSED,
)

# A notification has a body: GET and DELETE (listed by Capillary) would send it where
# receivers and proxies commonly drop it, so only these are allowed.
METHODS = ("POST", "PUT")
WEBHOOK_TYPES = ("HTTP",)
MAX_HEADERS = 20
MAX_HEADER_NAME = 100
MAX_HEADER_VALUE = 2000
MAX_URL = 2000
MAX_CONNECTIONS = 100
MAX_SLA_SECONDS = 7 * 86400
DEFAULT_SLA_SECONDS = 60
# Headers eventrail sets itself (the signer's, the body's, the connection's) and the
# hop-by-hop ones that would change how the request is framed or carried: a
# webhook's own headers may not give them, in any case of letters. Every name of
# the ``webhook-`` family (Standard Webhooks) is eventrail's too.
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "proxy-connection",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "user-agent",
    }
)
RESERVED_HEADER_PREFIX = "webhook-"


def is_reserved_header(name: str) -> bool:
    lowered = name.strip().lower()
    return lowered in RESERVED_HEADERS or lowered.startswith(RESERVED_HEADER_PREFIX)


def repeated_header(header_names: Iterable[str]) -> str | None:
    """The first name given again (header names are case-insensitive), or None."""
    seen: set[str] = set()
    for name in header_names:
        lowered = name.strip().lower()
        if lowered in seen:
            return name
        seen.add(lowered)
    return None


PENDING = "pending"
INFLIGHT = "inflight"
DELIVERED = "delivered"
FAILED = "failed"
STATES = (PENDING, INFLIGHT, DELIVERED, FAILED)
