"""GET /v2/events/search: the org's stored events by event, customer, group, time,
duplicate flag and attributes, in Capillary's shape (``clickEventDataList``; each item a customer
events record, ``pipeline.record_view``, plus ``requestId``). Run by the fast lane; the reads
are ``search_repository.SearchReads``'s, on the read route (a replica when there is one).

Every refusal is a 400 with code 1850 naming the parameter
(``exceptions.InvalidSearchParameter``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventrail.auth.schemas import Caller
from eventrail.customers.lookup import SOURCES
from eventrail.kit.dates import parse_date_range, zone
from eventrail.kit.params import LONG_MAX
from eventrail.processing.exceptions import InvalidSearchParameter
from eventrail.processing.pipeline import record_view
from eventrail.processing.search_repository import SearchFilter, SearchReads

# A group search reads the events of at most this many members; a bigger group is refused.
MAX_GROUP_MEMBERS = 1000
USER_TYPES = ("mobile", "email", "userId")
GROUP_TYPES = ("groupId", "groupExternalId", "mobile", "email", "userId")
DEFAULT_SOURCE = "INSTORE"
MAX_ATTRIBUTE_FILTERS = 10
# The parameters of the search; any other query key filters on an event attribute.
KNOWN_KEYS = frozenset(
    {
        "eventId",
        "eventName",
        "userIdentifierType",
        "userIdentifierValue",
        "userIdentifierSource",
        "userIdentifierAccountId",
        "userGroupIdentifierType",
        "userGroupIdentifierValue",
        "userGroupIdentifierSource",
        "userGroupIdentifierAccountId",
        "fromDate",
        "tillDate",
        "limit",
        "offset",
        "sortOrder",
        "includeSideEffects",
        "isDuplicate",
        "allowExactMatch",
        "scope",
    }
)


def invalid(name: str, detail: str) -> InvalidSearchParameter:
    return InvalidSearchParameter(f"Invalid value for query parameter '{name}': {detail}")


@dataclass(frozen=True, slots=True)
class Identifier:
    """A customer (or a group) named by the caller: its type, value, source, account."""

    prefix: str  # "userIdentifier" or "userGroupIdentifier"
    type_: str
    value: str
    source: str | None
    account_id: str | None


def identifier(prefix: str, values: dict[str, Any]) -> Identifier | None:
    """The identifier of these four parameters, or None when none is given; a value
    without its type (or the reverse) is refused, naming the value."""
    type_, value = values[prefix + "Type"], values[prefix + "Value"]
    source, account = values[prefix + "Source"], values[prefix + "AccountId"]
    if type_ is None and value is None:
        for name, given in (("Source", source), ("AccountId", account)):
            if given is not None:
                raise invalid(prefix + name, f"needs {prefix}Type and {prefix}Value")
        return None
    if type_ is None:
        raise invalid(prefix + "Value", f"given without {prefix}Type")
    if value is None or not value.strip():
        raise invalid(prefix + "Value", f"required with {prefix}Type")
    return Identifier(prefix, type_, value.strip(), source, account)


def _positive(ident: Identifier, what: str) -> int:
    text = ident.value
    if not (text.isascii() and text.isdigit() and len(text) <= 19) or not (
        1 <= int(text) <= LONG_MAX
    ):
        raise invalid(ident.prefix + "Value", f"{what} (a positive 64-bit integer)")
    return int(text)


def _source(ident: Identifier) -> str:
    source = (ident.source or DEFAULT_SOURCE).strip().upper()
    if source not in SOURCES:
        raise invalid(ident.prefix + "Source", "must be one of " + ", ".join(SOURCES))
    return source


def _customers(reader: SearchReads, org_ids: list[int], ident: Identifier) -> list[int]:
    """The customers an identifier of type mobile, email or userId names in the orgs."""
    if ident.type_ == "userId":
        return [_positive(ident, "a userId is a customer id")]
    return reader.identifier_customers(
        org_ids, _source(ident), (ident.account_id or "").strip(), ident.type_, ident.value
    )


def _group_members(reader: SearchReads, org_ids: list[int], ident: Identifier) -> list[int]:
    """The members of the group named by ``ident``: by the group's id or external id,
    or by a member (every group the customer named belongs to)."""
    if ident.type_ == "groupId":
        group_id = _positive(ident, "a groupId is a group's id")
        group_ids = reader.group_ids(org_ids, group_id=group_id)
    elif ident.type_ == "groupExternalId":
        group_ids = reader.group_ids(org_ids, external_id=ident.value)
    else:
        customers = _customers(reader, org_ids, ident)
        if not customers:
            return []
        group_ids = reader.customer_groups(org_ids, customers)
    if not group_ids:
        return []
    members = reader.group_members(org_ids, group_ids, MAX_GROUP_MEMBERS + 1)
    if len(members) > MAX_GROUP_MEMBERS:
        raise invalid(
            ident.prefix + "Value",
            f"the group has more than {MAX_GROUP_MEMBERS} members: search by a member",
        )
    return members


def attribute_filters(query: dict[str, str]) -> list[tuple[str, str]]:
    """The query keys that are not parameters of the search: filters on the events'
    attributes (``hotel_name=PalaceABC``), at most MAX_ATTRIBUTE_FILTERS."""
    found: list[tuple[str, str]] = []
    for key, value in query.items():
        if key in KNOWN_KEYS:
            continue
        name = key[:64]
        if len(found) == MAX_ATTRIBUTE_FILTERS:
            raise invalid(name, f"at most {MAX_ATTRIBUTE_FILTERS} attribute filters")
        if len(key) > 100 or '"' in key or "\\" in key or not key.isprintable():
            raise invalid(name, "not an attribute name (up to 100 characters, no quotes)")
        if not value.strip() or len(value) > 255:
            raise invalid(name, "an attribute filter's value is 1 to 255 characters")
        found.append((key, value))
    return found


def _orgs(reader: SearchReads, caller: Caller, scope: str | None) -> dict[int, str]:
    """The orgs searched, with their timezones: the caller's; with scope "child", a
    parent org's children (as GET /v2/events/event_data/{userId}?scope=child)."""
    if scope is None:
        return {caller.org_id: caller.org_timezone}
    if caller.parent_org_id is not None:
        raise invalid(
            "scope", "scope=child is for a parent org's credentials; this org is a child org"
        )
    return reader.child_orgs(caller.org_id)


def search_events(
    reader: SearchReads, caller: Caller, query: dict[str, str], values: dict[str, Any]
) -> dict[str, Any]:
    """The answer of GET /v2/events/search for the parsed ``values`` (SEARCH_PARAMS)
    of ``query``."""
    attributes = attribute_filters(query)
    user = identifier("userIdentifier", values)
    group = identifier("userGroupIdentifier", values)
    start_ms, end_ms = parse_date_range(
        values["fromDate"],
        values["tillDate"],
        start_name="fromDate",
        end_name="tillDate",
        tz=zone(caller.org_timezone),
    )
    timezones = _orgs(reader, caller, values["scope"])
    answer: dict[str, Any] = {"clickEventDataList": [], "warnings": [], "errors": []}
    org_ids = sorted(timezones)
    if not org_ids:
        return answer
    customer_ids: list[int] | None = None
    if user is not None:
        customer_ids = _customers(reader, org_ids, user)
    if group is not None:
        members = _group_members(reader, org_ids, group)
        customer_ids = (
            members if customer_ids is None else [c for c in customer_ids if c in set(members)]
        )
    if customer_ids is not None and not customer_ids:
        return answer
    event_name: str | None = None
    record_id: str | None = None
    event_id = values["eventId"]
    if event_id is not None:
        event_id = event_id.strip()
        event_name = reader.definition_name(org_ids, event_id)
        if event_name is None:
            record_id = event_id
    if values["eventName"] is not None:
        name = values["eventName"].strip()
        if event_name is not None and name != event_name:
            return answer
        event_name = name
    records = reader.search(
        SearchFilter(
            org_ids,
            customer_ids=customer_ids,
            record_id=record_id,
            event_name=event_name,
            is_duplicate=values["isDuplicate"],
            start_ms=start_ms,
            end_ms=end_ms,
            attributes=attributes,
            exact=values["allowExactMatch"],
            masked=caller.masks_psi,
        ),
        ascending=values["sortOrder"] == "ASC",
        limit=values["limit"],
        offset=values["offset"],
    )
    mask = caller.masks_psi
    side_effects = values["includeSideEffects"]
    items = answer["clickEventDataList"]
    for record in records:
        item = record_view(record, timezones[record.org_id], mask=mask)
        item["requestId"] = record.id
        if side_effects:
            # eventrail runs no loyalty consumer: an event has no side effects to show.
            item["sideEffects"] = []
            item["clickEventSideEffects"] = []
        items.append(item)
    return answer
