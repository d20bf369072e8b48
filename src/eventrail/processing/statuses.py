"""Processing statuses and messages (Capillary's where Capillary has one).

The first failing step decides the status. ``EVENT_FIELD_VALIDATION_FAILED``,
``INVALID_PAYLOAD`` and ``EVENT_PROCESSING_FAILED`` are eventrail's own: Capillary
publishes no status for these cases.
"""

from __future__ import annotations

from typing import NamedTuple

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


# -- what each status means and what to do (docs/events.md prints this table; the
# console shows the row of an entry; tests/processing/test_status_guide.py keeps
# the two the same). Markdown: `code` spans only.
class StatusGuide(NamedTuple):
    status: str  # as the table's first column shows it
    message: str
    meaning: str
    todo: str

    @property
    def code(self) -> str | None:
        """The status this row is about (None: the entries without a status)."""
        name = self.status.split("`")
        return name[1] if len(name) > 1 else None


GUIDE: tuple[StatusGuide, ...] = (
    StatusGuide(
        "`INVALID_META_TRANSFORMER_MAPPINGS`",
        "`Invalid meta transformer mappings: No transformer mapping found`",
        "The webhook's transformer found no event in the payload: no `event_name` key for `defaultTransformer`; no mapping, no name at the mapped path, or no field mapping for that event for a mapping transformer.",  # noqa: E501
        "Post Capillary's flat payload, or map the foreign payload with `POST /v2/events/adapter_mapping` (below).",  # noqa: E501
    ),
    StatusGuide(
        "`INVALID_EVENT_NAME`",
        "`Invalid event name <name>`",
        "No enabled event of that name in the org (an empty name gives `Invalid event name `).",
        "Check the spelling (names are case-sensitive) with `GET /v2/events`; disabled events stay disabled.",  # noqa: E501
    ),
    StatusGuide(
        "`EVENT_FIELD_VALIDATION_FAILED` (eventrail's own)",
        "`Invalid value for field <name>: <reason>`",
        "A required field is missing, or a value does not fit its type, regex, enum values or date formats; a `tillCode` names no till of the org; `eventDateTime` is not a date; a value is longer than anything it could name (a customer identifier over 255 characters, a `tillCode` or `groupId` over 100); an `orgResolver` is malformed or names no child or till of it.",  # noqa: E501
        "Fix the sender; the reason says what was expected.",
    ),
    StatusGuide(
        "`INVALID_GROUP_IDENTIFIER_PASSED`",
        "`Invalid group identifier passed <value>`",
        "The `groupId` field names no group of the org.",
        "Create the group (`POST /v2/orgs/settings/groups`) or fix the value.",
    ),
    StatusGuide(
        "`EMF_PROCESSOR_FAILED`",
        "`Error while processing emfEvent: customerId not present,cant proceed further`",
        "An `EMFConsumer` event whose customer is missing, or not found (and `addCustomerIfNotExists` is off).",  # noqa: E501
        "Register the customer first, send the identifier type the definition expects (`identifierType`, `source`), or turn on `addCustomerIfNotExists`.",  # noqa: E501
    ),
    StatusGuide(
        "`NO_CUSTOMER_DETAILS_PASSED`",
        "`Customer details not passed`",
        "The same, for an event without `EMFConsumer`.",
        "As above.",
    ),
    StatusGuide(
        "`NO_CUSTOMER_DETAILS_PASSED`",
        "`Customer details not passed ,User does not belong to group <value>`",
        "The customer is not a member of the event's group.",
        "Add them: `PUT /v2/orgs/settings/groups/<externalId>/members`.",
    ),
    StatusGuide(
        "`EVENT_SUCCESS`",
        "`Event processed successfully`",
        "Stored; a repeat of a unique key is stored too, with `isDuplicate: true`.",
        "Nothing.",
    ),
    StatusGuide(
        "`INVALID_PAYLOAD` (eventrail's own)",
        "`Invalid payload: <why>`",
        "The body was not a JSON object, or broke a limit.",
        "Fix the sender.",
    ),
    StatusGuide(
        "*(none)*",
        "`Unauthorized`",
        "The webhook requires credentials of its org, and the post had none that were valid.",
        "Send the till's Basic credentials or an OAuth token of the org.",
    ),
    StatusGuide(
        "`EVENT_PROCESSING_FAILED` (eventrail's own)",
        "`Internal error while processing the event; it was not stored. The request is kept here: post it again. (<step> step: <kind of error>)`",  # noqa: E501
        "Processing this request raised an error of its own (a bug, or a definition or mapping broken outside the API): it was set aside alone, and the other requests of its batch were processed as usual. Its body is in `inputRequest`.",  # noqa: E501
        "Report it with the step named; post the event again once fixed.",
    ),
)


def guide_rows(status: str | None, message: str) -> list[StatusGuide]:
    """The table's rows for an entry: its status's (two statuses have a row per message)."""
    rows = [row for row in GUIDE if row.code == status]
    if len(rows) > 1:
        prefixes = [row for row in rows if message.startswith(row.message.split("<")[0].strip("`"))]
        narrowed = [r for r in prefixes if len(r.message) == max(len(p.message) for p in prefixes)]
        return narrowed or rows
    return rows


def guide_table() -> str:
    """The markdown table docs/events.md shows."""
    lines = ["| status | message | meaning | what to do |", "|---|---|---|---|"]
    lines += [f"| {r.status} | {r.message} | {r.meaning} | {r.todo} |" for r in GUIDE]
    return "\n".join(lines)
