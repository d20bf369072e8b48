"""Recording who changed what, in the same transaction as the change.

Writers call :func:`record` with the events of one entity as they make the
change. Events of the same (entity, request) are gathered into one entry,
which is written when the session commits (``before_commit``), inside the same
transaction: a rolled-back write leaves no entry, and a committed one always
has its entry. Each entry is linked into its org's hash chain as it is written
(``audit/chain.py``). Entries are append-only: nothing in eventrail updates or
deletes them, and the migrations make the database refuse to.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from eventrail.audit import chain
from eventrail.audit.repository import (
    AuditExport,
    AuditQuery,
    AuditReads,
    AuditRepository,
    AuditRow,
)
from eventrail.audit.schemas import AuditEntryOut
from eventrail.kit.dates import now_ms
from eventrail.kit.keyset import cursor_text
from eventrail.models import AuditEntry, AuditRef

NA = "NA"

# referenceType (the API's filter vocabulary) -> eventType (as displayed in entries)
EVENT_TYPES: dict[str, str] = {
    "Identifier": "Identifiers",
    "StandardField": "Standard Fields",
    "ExtendedField": "Extended Fields",
    "CustomField": "Custom Fields",
    "CustomerStatus": "Customer Status",
    "CardStatus": "Card Status",
    "SubscriptionStatus": "Subscription Status",
    "CustomerMerge": "Customer Merge",
    "CardCustomField": "Card Custom Field",
    "CommChannel": "Communication Channels",
    "CardExtendedField": "Card Extended Field",
}
REFERENCE_TYPES = tuple(EVENT_TYPES)

_PENDING_KEY = "eventrail.audit.pending"
_LISTENING_KEY = "eventrail.audit.listening"


@dataclass(frozen=True, slots=True)
class ChangeContext:
    """Who makes the change, from where, within which request."""

    org_id: int
    request_id: str
    updated_by: int
    till: dict[str, Any] | None
    store: dict[str, Any] | None
    user_context: dict[str, Any] | None
    mode: str = "API"


@dataclass(slots=True)
class AuditEvent:
    reference_type: str
    updated_field: str
    additional_fields: dict[str, Any]
    associate_entities: list[dict[str, Any]] | None = None
    psi: bool = False

    def stored(self) -> dict[str, Any]:
        return {
            "referenceType": self.reference_type,
            "eventType": EVENT_TYPES[self.reference_type],
            "updatedField": self.updated_field,
            "additionalFields": self.additional_fields,
            "associateEntities": self.associate_entities,
            "psi": self.psi,
        }


@dataclass(slots=True)
class _Recorded:
    """Events recorded by one record() call, and the (sub)transaction they belong to."""

    context: ChangeContext
    entity_type: str
    entity_id: int
    at: int
    source: str | None
    victim: dict[str, Any] | None
    survivor: dict[str, Any] | None
    events: list[AuditEvent]
    transaction: SessionTransaction | None


def _text(value: Any) -> str:
    if value is None:
        return NA
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return f"{int(value)}.0"
    return str(value)


def value_change(
    reference_type: str,
    updated_field: str,
    previous: Any,
    current: Any,
    *,
    psi: bool = False,
    associate_entities: list[dict[str, Any]] | None = None,
) -> AuditEvent | None:
    """A previous/current event, or None when nothing changed. Absent values are "NA"."""
    before, after = _text(previous), _text(current)
    if before == after:
        return None
    return AuditEvent(
        reference_type,
        updated_field,
        {"previousValue": before, "currentValue": after},
        associate_entities,
        psi,
    )


def record(
    session: Session,
    context: ChangeContext,
    entity_type: str,
    entity_id: int,
    events: list[AuditEvent | None],
    *,
    source: str | None = None,
    victim: dict[str, Any] | None = None,
    survivor: dict[str, Any] | None = None,
) -> None:
    """Add events to the entry of (entity, request); written when the session commits.

    Events recorded inside a savepoint that rolls back are dropped with it.
    """
    real = [e for e in events if e is not None]
    if not real:
        return
    pending: list[_Recorded] | None = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = []
        session.info[_PENDING_KEY] = pending
        if not session.info.get(_LISTENING_KEY):
            session.info[_LISTENING_KEY] = True
            event.listen(session, "before_commit", _write_pending)
            event.listen(session, "after_soft_rollback", _drop_pending)
    transaction = session.get_nested_transaction() or session.get_transaction()
    pending.append(
        _Recorded(
            context, entity_type, entity_id, now_ms(), source, victim, survivor, real, transaction
        )
    )


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: list[_Recorded] | None = session.info.get(_PENDING_KEY)
    if not pending:
        return
    if not previous_transaction.nested:
        session.info.pop(_PENDING_KEY, None)
        return
    pending[:] = [r for r in pending if not _within(r.transaction, previous_transaction)]


def _write_pending(session: Session) -> None:
    # before_commit also fires when a savepoint is released: entries are written
    # only by the outermost commit, once, with everything the request recorded.
    if session.in_nested_transaction():
        return
    recorded: list[_Recorded] = session.info.pop(_PENDING_KEY, None) or []
    if not recorded:
        return
    # One entry per (entity, request): gather, in the order entities were first touched.
    grouped: dict[tuple[str, str, int], list[_Recorded]] = {}
    for item in recorded:
        key = (item.context.request_id, item.entity_type, item.entity_id)
        grouped.setdefault(key, []).append(item)
    created_on = now_ms()
    entries: list[tuple[AuditEntry, list[AuditEvent]]] = []
    for items in grouped.values():
        first = items[0]
        ctx = first.context
        events = [e for item in items for e in item.events]
        entry = AuditEntry(
            org_id=ctx.org_id,
            entity_type=first.entity_type,
            entity_id=first.entity_id,
            request_id=ctx.request_id,
            updated_by=ctx.updated_by,
            till=ctx.till,
            store=ctx.store,
            user_context=ctx.user_context,
            victim_details=next((i.victim for i in items if i.victim), None),
            survivor_details=next((i.survivor for i in items if i.survivor), None),
            source=next((i.source for i in items if i.source), None),
            updated_by_mode=ctx.mode,
            auto_update_time=first.at,
            created_on=max(created_on, first.at),
            events=[e.stored() for e in events],
        )
        entries.append((entry, events))
    # Linked last, right before the insert: the chain head stays locked for the
    # shortest time (until this transaction commits).
    chain.link(session, [entry for entry, _ in entries])
    repo = AuditRepository(session)
    repo.add_entries([entry for entry, _ in entries])
    refs: list[AuditRef] = []
    for entry, events in entries:
        seen: set[tuple[str, str]] = set()
        for ev in events:
            pair = (ev.reference_type, ev.updated_field)
            if pair in seen:
                continue
            seen.add(pair)
            refs.append(
                AuditRef(
                    entry_id=entry.id,
                    org_id=entry.org_id,
                    entity_type=entry.entity_type,
                    entity_id=entry.entity_id,
                    reference_type=ev.reference_type,
                    updated_field=ev.updated_field,
                )
            )
    repo.add_refs(refs)


# -- reading ------------------------------------------------------------------
# What a PSI value reads as when masked, everywhere (audits, customers, fields, events).
MASK = "*****"
_MASKED_VALUE_KEYS = ("previousValue", "currentValue")


def _render_event(stored: dict[str, Any], mask: bool) -> dict[str, Any]:
    fields = stored["additionalFields"]
    if mask and stored.get("psi"):
        fields = {
            k: (MASK if k in _MASKED_VALUE_KEYS and v not in (None, NA) else v)
            for k, v in fields.items()
        }
    return {
        "eventType": stored["eventType"],
        "updatedField": stored["updatedField"],
        "additionalFields": fields,
        "associateEntities": stored["associateEntities"],
    }


def _mask_details(details: dict[str, Any] | None) -> dict[str, Any] | None:
    if details is None:
        return None
    return {k: (v if k == "externalId" or v is None else MASK) for k, v in details.items()}


_EMPTY_USER_CONTEXT = {
    "entityType": None,
    "entityId": None,
    "entitySource": None,
    "entitySourceId": None,
}


def render_entry(
    entry: AuditRow,
    *,
    include_user_context: bool,
    mask: bool,
    reference_type: str | None = None,
    reference_value: str | None = None,
    reference_types: tuple[str, ...] = (),
) -> dict[str, Any]:
    """An entry as the audits API shows it (key order of Capillary's); with a
    referenceType (or several), only the events of it (them)."""
    stored: list[dict[str, Any]] = orjson.loads(entry.events)
    events = [
        _render_event(ev, mask)
        for ev in stored
        if (reference_type is None or ev["referenceType"] == reference_type)
        and (not reference_types or ev["referenceType"] in reference_types)
        and (reference_value is None or ev["updatedField"] == reference_value)
    ]
    victim = _json(entry.victim_details)
    survivor = _json(entry.survivor_details)
    return {
        "updatedByUser": None,
        "updatedBy": entry.updated_by,
        "orgId": entry.org_id,
        "entityType": entry.entity_type,
        "entityId": entry.entity_id,
        "createdOn": entry.created_on,
        "requestId": entry.request_id,
        "till": _fragment(entry.till),
        "store": _fragment(entry.store),
        "userContextDetails": (
            (_json(entry.user_context) or dict(_EMPTY_USER_CONTEXT))
            if include_user_context
            else None
        ),
        "victimUserDetails": _mask_details(victim) if mask else victim,
        "survivorUserDetails": _mask_details(survivor) if mask else survivor,
        "source": entry.source,
        "updatedByMode": entry.updated_by_mode,
        "autoUpdateTime": entry.auto_update_time,
        "events": events,
    }


def _json(text: str | None) -> Any:
    return None if text is None or text == "null" else orjson.loads(text)


def _fragment(text: str | None) -> Any:
    return None if text is None or text == "null" else orjson.Fragment(text)


def audit_page(
    reads: AuditReads, query: AuditQuery, *, include_user_context: bool, mask: bool
) -> dict[str, Any]:
    """One page of the audits API (from a thread: the console's)."""
    total, rows = reads.page(query)
    return _page_view(query, total, rows, include_user_context=include_user_context, mask=mask)


async def serve_audit_page(
    reads: AuditReads, query: AuditQuery, *, include_user_context: bool, mask: bool
) -> dict[str, Any]:
    """One page of the audits API, from the event loop (the lane's handler)."""
    total, rows = await reads.page_soon(query)
    return _page_view(query, total, rows, include_user_context=include_user_context, mask=mask)


def _page_view(
    query: AuditQuery,
    total: int,
    rows: list[AuditRow],
    *,
    include_user_context: bool,
    mask: bool,
) -> dict[str, Any]:
    data = [
        render_entry(
            row,
            include_user_context=include_user_context,
            mask=mask,
            reference_type=query.reference_type,
            reference_value=query.reference_value,
            reference_types=query.reference_types,
        )
        for row in rows
    ]
    return {
        "data": data,
        "pagination": {
            "totalElements": total,
            "totalPages": math.ceil(total / query.limit) if total else 0,
            "numberOfElements": len(data),
            "number": query.offset // query.limit,
        },
    }


# -- the export (GET /api_gateway/v2/audits/export, eventrail export audits) -----------
AUDIT_EXPORT_COLUMNS = (
    *AuditEntryOut.model_json_schema(by_alias=True)["properties"],
    "seq",
    "prevHash",
    "hash",
    "cursor",
)


def export_audits(
    reads: AuditReads,
    x: AuditExport,
    *,
    mask: bool,
    after: tuple[int, int] | None,
    batch: int,
) -> Iterator[list[dict[str, Any]]]:
    """The entries, oldest first, a keyset batch at a time; each with its link of the
    hash chain (``seq``, ``prevHash``, ``hash``: null on entries written before it)."""
    for rows in reads.export(x, after=after, batch=batch):
        out = []
        for entry, seq, prev_hash, row_hash in rows:
            view = render_entry(
                entry,
                include_user_context=x.include_user_context,
                mask=mask,
                reference_type=x.reference_type,
                reference_value=x.reference_value,
            )
            view["seq"], view["prevHash"], view["hash"] = seq, prev_hash, row_hash
            view["cursor"] = cursor_text((entry.created_on, entry.id))
            out.append(view)
        yield out
