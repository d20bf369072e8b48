"""Customer APIs (v2) and customer merge requests. Handlers only parse and delegate."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Path, Query

from eventrail.customers import merge, service
from eventrail.customers.schemas import (
    Created,
    CreatedWithSideEffects,
    CustomerCreate,
    CustomerUpdate,
    Entity,
    IdentifierChange,
    MergeRequestCreate,
    MergeRequestDecision,
    StatusUpdate,
    SubscriptionsUpdate,
)
from eventrail.deps import Change, CurrentCaller, Session

router = APIRouter(tags=["customers"])

_LONG = 2**63 - 1


def _customer_id() -> Any:
    return Path(alias="id", ge=1, le=_LONG, description="The customer id (userId)")


SourceQuery = Query(default=None, max_length=40, description="INSTORE, WECHAT, ...")
AccountQuery = Query(default=None, alias="accountId", max_length=100)
IdentifierNameQuery = Query(
    alias="identifierName", max_length=40, description="mobile, email, externalId, cardnumber..."
)
IdentifierValueQuery = Query(alias="identifierValue", min_length=1, max_length=255)


@router.post("/v2/customers", response_model=CreatedWithSideEffects, summary="Add a customer")
def add_customer(
    body: CustomerCreate, change: Change, session: Session, source: str | None = SourceQuery
) -> CreatedWithSideEffects:
    customer_id, warnings = service.add_customer(session, change, body, source)
    return CreatedWithSideEffects(created_id=customer_id, warnings=warnings)


@router.get("/v2/customers/lookup", response_model=Entity, summary="Customer id by identifier")
def lookup(
    caller: CurrentCaller,
    session: Session,
    identifier_name: str = IdentifierNameQuery,
    identifier_value: str = IdentifierValueQuery,
    source: str | None = SourceQuery,
    account_id: str | None = AccountQuery,
) -> Entity:
    customer = service.lookup_customer(
        session,
        caller.org_id,
        source=source,
        identifier_name=identifier_name,
        identifier_value=identifier_value,
        account_id=account_id,
    )
    return Entity(entity=customer.id)


@router.get("/v2/customers/lookup/customerDetails", summary="Customer details by identifier")
def lookup_details(
    caller: CurrentCaller,
    session: Session,
    identifier_name: str = IdentifierNameQuery,
    identifier_value: str = IdentifierValueQuery,
    source: str | None = SourceQuery,
    account_id: str | None = AccountQuery,
) -> dict[str, Any]:
    customer = service.lookup_customer(
        session,
        caller.org_id,
        source=source,
        identifier_name=identifier_name,
        identifier_value=identifier_value,
        account_id=account_id,
    )
    return service.customer_view(session, customer)


@router.put(
    "/v2/customers/lookup",
    response_model=CreatedWithSideEffects,
    summary="Update a customer found by identifier",
)
def update_by_lookup(
    body: CustomerUpdate,
    change: Change,
    session: Session,
    identifier_name: str = IdentifierNameQuery,
    identifier_value: str = IdentifierValueQuery,
    source: str | None = SourceQuery,
    account_id: str | None = AccountQuery,
) -> CreatedWithSideEffects:
    found = service.lookup_customer(
        session,
        change.org_id,
        source=source,
        identifier_name=identifier_name,
        identifier_value=identifier_value,
        account_id=account_id,
    )
    customer = service.active_customer(session, change.org_id, found.id)
    warnings = service.update_customer(session, change, customer, body, source)
    return CreatedWithSideEffects(created_id=customer.id, warnings=warnings)


@router.put(
    "/v2/customers/lookup/status",
    response_model=Created,
    summary="Change a customer's status label",
)
def update_status(
    body: StatusUpdate,
    change: Change,
    session: Session,
    identifier_name: str = IdentifierNameQuery,
    identifier_value: str = IdentifierValueQuery,
    source: str | None = SourceQuery,
    account_id: str | None = AccountQuery,
) -> Created:
    found = service.lookup_customer(
        session,
        change.org_id,
        source=source,
        identifier_name=identifier_name,
        identifier_value=identifier_value,
        account_id=account_id,
    )
    customer = service.active_customer(session, change.org_id, found.id)
    service.update_status(session, change, customer, body, service.normalize_source(source))
    return Created(created_id=customer.id)


@router.get("/v2/customers/{id}", summary="Customer details")
def get_customer(
    caller: CurrentCaller, session: Session, customer_id: int = _customer_id()
) -> dict[str, Any]:
    customer = service.get_customer(session, caller.org_id, customer_id)
    return service.customer_view(session, customer)


@router.put("/v2/customers/{id}", response_model=CreatedWithSideEffects, summary="Update")
def update_customer(
    body: CustomerUpdate,
    change: Change,
    session: Session,
    customer_id: int = _customer_id(),
    source: str | None = SourceQuery,
) -> CreatedWithSideEffects:
    customer = service.active_customer(session, change.org_id, customer_id)
    warnings = service.update_customer(session, change, customer, body, source)
    return CreatedWithSideEffects(created_id=customer.id, warnings=warnings)


@router.post(
    "/v2/customers/{id}/changeIdentifier",
    response_model=Created,
    summary="Add or remove identifiers; issue a card with cardnumber + seriesId",
)
def change_identifier(
    body: IdentifierChange,
    change: Change,
    session: Session,
    customer_id: int = _customer_id(),
    source: str | None = SourceQuery,
    account_id: str | None = AccountQuery,
) -> Created:
    customer = service.active_customer(session, change.org_id, customer_id)
    warnings = service.change_identifiers(session, change, customer, body, source, account_id)
    return Created(created_id=customer.id, warnings=warnings)


@router.post("/v2/customers/{id}/subscriptions", summary="Opt in or out of channels")
def update_subscriptions(
    body: SubscriptionsUpdate,
    change: Change,
    session: Session,
    customer_id: int = _customer_id(),
) -> dict[str, Any]:
    customer = service.active_customer(session, change.org_id, customer_id)
    service.update_subscriptions(session, change, customer, body)
    return {**body.model_dump(by_alias=True), "warnings": []}


@router.post("/v2/requests", response_model=Created, summary="Customer merge request")
def add_request(
    body: MergeRequestCreate,
    change: Change,
    session: Session,
    client_auto_approve: bool = Query(default=False),
    source: str | None = SourceQuery,
) -> Created:
    request = merge.create_request(session, change, body, client_auto_approve)
    return Created(created_id=request.id)


@router.put("/v2/requests", summary="Approve or reject merge requests")
def decide_requests(
    change: Change,
    session: Session,
    body: list[MergeRequestDecision] = Body(max_length=100),
) -> dict[str, Any]:
    return merge.decide(session, change, body)


@router.get("/v2/requests/{id}", summary="A merge request")
def get_request(
    caller: CurrentCaller,
    session: Session,
    request_id: int = Path(alias="id", ge=1, le=_LONG),
) -> dict[str, Any]:
    return merge.request_view(
        merge.get_request(session, caller.org_id, request_id), caller.org_timezone
    )
