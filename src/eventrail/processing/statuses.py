"""Processing statuses and messages (Capillary's where Capillary has one).

The first failing step decides the status. ``EVENT_FIELD_VALIDATION_FAILED``,
``INVALID_PAYLOAD`` and ``EVENT_PROCESSING_FAILED`` are eventrail's own: Capillary
publishes no status for these cases.
"""

from __future__ import annotations

EVENT_SUCCESS = "EVENT_SUCCESS"
INVALID_META_TRANSFORMER_MAPPINGS = "INVALID_META_TRANSFORMER_MAPPINGS"
INVALID_EVENT_NAME = "INVALID_EVENT_NAME"
EVENT_FIELD_VALIDATION_FAILED = "EVENT_FIELD_VALIDATION_FAILED"
INVALID_GROUP_IDENTIFIER_PASSED = "INVALID_GROUP_IDENTIFIER_PASSED"
EMF_PROCESSOR_FAILED = "EMF_PROCESSOR_FAILED"
NO_CUSTOMER_DETAILS_PASSED = "NO_CUSTOMER_DETAILS_PASSED"
INVALID_PAYLOAD = "INVALID_PAYLOAD"
EVENT_PROCESSING_FAILED = "EVENT_PROCESSING_FAILED"

ALL = (
    EVENT_SUCCESS,
    INVALID_META_TRANSFORMER_MAPPINGS,
    INVALID_EVENT_NAME,
    EVENT_FIELD_VALIDATION_FAILED,
    INVALID_GROUP_IDENTIFIER_PASSED,
    EMF_PROCESSOR_FAILED,
    NO_CUSTOMER_DETAILS_PASSED,
    INVALID_PAYLOAD,
    EVENT_PROCESSING_FAILED,
)

# What a replay can fix: every failure the pipeline decides. Not an Unauthorized entry
# (replaying it would let a refused sender in) nor INVALID_PAYLOAD (the body was
# refused before processing, and would be again).
REPLAYABLE = tuple(s for s in ALL if s not in (EVENT_SUCCESS, INVALID_PAYLOAD))

SUCCESS_MESSAGE = "Event processed successfully"
NO_MAPPING_MESSAGE = "Invalid meta transformer mappings: No transformer mapping found"
UNAUTHORIZED_MESSAGE = "Unauthorized"
EMF_NO_CUSTOMER_MESSAGE = (
    "Error while processing emfEvent: customerId not present,cant proceed further"
)
NO_CUSTOMER_MESSAGE = "Customer details not passed"
PROCESSING_FAILED_MESSAGE = (
    "Internal error while processing the event; it was not stored. "
    "The request is kept here: post it again."
)


def invalid_event_name(name: str) -> str:
    return f"Invalid event name {name}"


def invalid_field(name: str, reason: str) -> str:
    return f"Invalid value for field {name}: {reason}"


def invalid_group(value: str) -> str:
    return f"Invalid group identifier passed {value}"


def not_in_group(value: str) -> str:
    # The odd " ," spacing is Capillary's, verbatim.
    return f"Customer details not passed ,User does not belong to group {value}"


def processing_failed(reason: str) -> str:
    """EVENT_PROCESSING_FAILED's message; ``reason`` says where, never with a value."""
    return f"{PROCESSING_FAILED_MESSAGE} ({reason})"
