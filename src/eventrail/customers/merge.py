"""Customer merge through POST /v2/requests (type CHANGE_IDENTIFIER, baseType MERGE).

The victim's identifiers and cards move to the survivor; the victim is kept,
marked as merged into the survivor, and refuses further writes (8069). Both
get an audit entry with ``victimUserDetails`` and ``survivorUserDetails``: a
``Customer Merge`` event and one ``Identifiers`` event per identifier moved.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from eventrail.audit.service import AuditEvent, ChangeContext, record, value_change
from eventrail.auth.service import till_views
from eventrail.cards.repository import CardRepository
from eventrail.customers.exceptions import (
    InvalidRequestBaseType,
    InvalidRequestType,
    MergeIdentifiersMissing,
    MergePendingForSurvivor,
    MergePendingForVictim,
    MergeTargetInvalid,
    RequestNotFound,
    SameSurvivorAndVictim,
    SurvivorMerged,
    VictimMerged,
)
from eventrail.customers.repository import CustomerRepository
from eventrail.customers.schemas import MergeRequestCreate, MergeRequestDecision
from eventrail.customers.service import is_psi_identifier
from eventrail.errors import BadRequest, EventrailError, error_item
from eventrail.kit.dates import format_iso, now_ms, zone
from eventrail.models import Customer, MergeRequest
from eventrail.notifications import names as notices
from eventrail.notifications.emit import changes, emit
from eventrail.orgs import vocabulary as v

PENDING, APPROVED, REJECTED = "PENDING", "APPROVED", "REJECTED"


def _check_types(type_: str, base_type: str) -> None:
    if type_.strip().upper() != "CHANGE_IDENTIFIER":
        raise InvalidRequestType(f"Request Type is invalid: '{type_}' (use CHANGE_IDENTIFIER)")
    if base_type.strip().upper() != "MERGE":
        raise InvalidRequestBaseType(f"Request Base Type is invalid: '{base_type}' (use MERGE)")


def _id_from(items: list[Any], role: str) -> int | None:
    for item in items:
        if item.type.strip().lower() in {"id", "userid"}:
            value = item.value.strip()
            if not value.isascii() or not value.isdigit() or not 1 <= int(value) < 2**63:
                raise MergeTargetInvalid(
                    f"Target customer is not Existing or Invalid: {role} id '{item.value}'"
                )
            return int(value)
    return None


def _customer(repo: CustomerRepository, org_id: int, customer_id: int, role: str) -> Customer:
    customer = repo.get_for_update(org_id, customer_id)
    if customer is None:
        raise MergeTargetInvalid(
            f"Target customer is not Existing or Invalid: {role} {customer_id}"
        )
    return customer


def _lock_pair(
    repo: CustomerRepository, org_id: int, victim_id: int, survivor_id: int
) -> tuple[Customer, Customer]:
    """Lock both customers, lower id first, so that two merges cannot deadlock."""
    roles = {victim_id: "victim", survivor_id: "survivor"}
    locked = {cid: _customer(repo, org_id, cid, roles[cid]) for cid in sorted(roles)}
    victim, survivor = locked[victim_id], locked[survivor_id]
    if victim.merged_into_id is not None:
        raise VictimMerged()
    if survivor.merged_into_id is not None:
        raise SurvivorMerged()
    return victim, survivor


def create_request(
    session: Session, ctx: ChangeContext, body: MergeRequestCreate, auto_approve: bool
) -> MergeRequest:
    _check_types(body.type, body.base_type)
    change = body.change_identifiers
    survivor_id = _id_from(change.add, "survivor") if change else None
    victim_id = _id_from(change.remove, "victim") if change else None
    if victim_id is None:
        victim_id = body.customer.id if body.customer else body.user_id
    if survivor_id is None or victim_id is None:
        raise MergeIdentifiersMissing(
            "No customer identifiers passed: changeIdentifiers.add must name the survivor "
            '({"type":"id","value":...}) and changeIdentifiers.remove the victim'
        )
    if survivor_id == victim_id:
        raise SameSurvivorAndVictim()
    repo = CustomerRepository(session)
    victim, survivor = _lock_pair(repo, ctx.org_id, victim_id, survivor_id)
    if repo.pending_merge_involving(ctx.org_id, victim.id) is not None:
        raise MergePendingForVictim()
    if repo.pending_merge_involving(ctx.org_id, survivor.id) is not None:
        raise MergePendingForSurvivor()
    now = now_ms()
    request = MergeRequest(
        org_id=ctx.org_id,
        victim_id=victim.id,
        survivor_id=survivor.id,
        status=PENDING,
        comments=body.comments,
        created_by_till_id=ctx.updated_by,
        modified_by_till_id=ctx.updated_by,
        one_step=auto_approve,
        created_at=now,
        updated_at=now,
    )
    repo.add(request)
    if auto_approve:
        _merge(session, ctx, victim, survivor)
        repo.set_merge_status(request, APPROVED)
    return request


def decide(
    session: Session, ctx: ChangeContext, items: list[MergeRequestDecision]
) -> dict[str, Any]:
    """PUT /v2/requests: approve or reject pending merge requests, item by item."""
    if not items:
        raise BadRequest("Request body must list at least one request")
    repo = CustomerRepository(session)
    response: list[dict[str, Any]] = []
    failures = 0
    for item in items:
        try:
            _check_types(item.type, item.base_type)
            request = repo.merge_request(ctx.org_id, item.id)
            if request is None:
                raise RequestNotFound()
            if request.status != PENDING:
                raise BadRequest(f"Request {item.id} is already {request.status}", code=9055)
            if item.status == APPROVED:
                victim, survivor = _lock_pair(
                    repo, ctx.org_id, request.victim_id, request.survivor_id
                )
                _merge(session, ctx, victim, survivor)
            repo.decide_merge(
                request,
                item.status,
                till_id=ctx.updated_by,
                comments=item.comments or request.comments,
                updated_at=now_ms(),
            )
            response.append({"entityId": item.id, "result": True, "warnings": []})
        except EventrailError as exc:
            failures += 1
            response.append({"entityId": item.id, "errors": [error_item(exc)]})
    return {"response": response, "totalCount": len(items), "failureCount": failures}


def _details(session: Session, customer: Customer) -> dict[str, Any]:
    identifiers = CustomerRepository(session).identifiers(customer.org_id, customer.id)

    def first(type_: str) -> str | None:
        return next((i.value for i in identifiers if i.type == type_), None)

    return {
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "email": first("email"),
        "mobile": first("mobile"),
        "externalId": first("externalId"),
    }


def _merge(session: Session, ctx: ChangeContext, victim: Customer, survivor: Customer) -> None:
    repo = CustomerRepository(session)
    victim_details = _details(session, victim)
    survivor_details = _details(session, survivor)
    merge_event = AuditEvent(
        "CustomerMerge",
        "CustomerMerge",
        {"victimId": str(victim.id), "survivorId": str(survivor.id)},
    )
    survivor_events: list[AuditEvent | None] = [merge_event]
    victim_events: list[AuditEvent | None] = [merge_event]
    held = {
        (i.source, i.account_id, i.type) for i in repo.identifiers(survivor.org_id, survivor.id)
    }
    for identifier in repo.identifiers(victim.org_id, victim.id):
        slot = (identifier.source, identifier.account_id, identifier.type)
        if identifier.type != "cardnumber" and slot in held:
            # The survivor keeps its own value of a single-valued identifier.
            continue
        repo.move_identifier(identifier, survivor.id)
        psi = is_psi_identifier(identifier.type)
        survivor_events.append(
            value_change("Identifier", identifier.type, None, identifier.value, psi=psi)
        )
        victim_events.append(
            value_change("Identifier", identifier.type, identifier.value, None, psi=psi)
        )
    cards = CardRepository(session).of_customer(victim.org_id, victim.id)
    repo.merge_into(victim, survivor, cards, now_ms())
    for customer, events in ((survivor, survivor_events), (victim, victim_events)):
        record(
            session,
            ctx,
            v.CUSTOMER,
            customer.id,
            events,
            source=customer.source,
            victim=victim_details,
            survivor=survivor_details,
        )
    emit(
        session,
        ctx.org_id,
        notices.CUSTOMER_MERGE,
        survivor.id,
        {
            "victimId": victim.id,
            "survivorId": survivor.id,
            "survivorChanges": changes(survivor_events),
            "victimChanges": changes(victim_events),
        },
        request_id=ctx.request_id,
    )


def get_request(session: Session, org_id: int, request_id: int) -> MergeRequest:
    request = CustomerRepository(session).merge_request(org_id, request_id)
    if request is None:
        raise RequestNotFound()
    return request


# What changeIdentifierRequest.changeStatus says for each request status: Capillary's
# samples show a PENDING request as PROCESSING.
CHANGE_STATUS = {PENDING: "PROCESSING", APPROVED: "SUCCESS", REJECTED: "REJECTED"}


def request_view(session: Session, request: MergeRequest, tz_name: str) -> dict[str, Any]:
    """``GET /v2/requests/{id}``: Capillary's shape, attribution included."""
    tz = zone(tz_name)
    modified_by = request.modified_by_till_id or request.created_by_till_id
    tills = till_views(session, request.org_id, {request.created_by_till_id, modified_by})
    return {
        "type": "CHANGE_IDENTIFIER",
        "baseType": "MERGE",
        "status": request.status,
        "attribution": {
            "createDate": format_iso(request.created_at, tz),
            "createdBy": tills.get(request.created_by_till_id),
            "modifiedBy": tills.get(modified_by),
            "modifiedDate": format_iso(request.updated_at, tz),
        },
        "id": request.id,
        "orgId": request.org_id,
        "addedOn": format_iso(request.created_at, tz),
        "userId": request.victim_id,
        "comments": request.comments,
        "changeIdentifierRequest": {
            "id": request.id,
            "userId": -1,
            "requestId": request.id,
            "changeType": "MERGE",
            "changeStatus": CHANGE_STATUS.get(request.status, request.status),
            "changeIdentifiers": {
                "add": [{"type": "id", "value": str(request.survivor_id)}],
                "remove": [{"type": "id", "value": str(request.victim_id)}],
            },
            "oneStep": request.one_step,
        },
        "oneStep": request.one_step,
        "warnings": [],
    }
