"""Customer APIs (v2) and customer merge requests. Handlers only parse and delegate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query

from eventrail.customers import lookup, merge, service
from eventrail.customers.schemas import (
    Created,
    CreatedWithSideEffects,
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
    DecisionsOut,
    Entity,
    IdentifierChange,
    MergeRequestCreate,
    MergeRequestDecision,
    MergeRequestOut,
    StatusUpdate,
    SubscriptionsOut,
    SubscriptionsUpdate,
)
from eventrail.deps import Change, CurrentCaller, Session
from eventrail.kit.schemas import QueryBool, QueryId

router = APIRouter(tags=["customers"])


# Integers and booleans of the path and query are read by the rule of every query
# parameter (kit.schemas.QueryId, QueryBool); FastAPI keeps that rule only when
# the parameter is declared in Annotated, not as a default.
CustomerId = Annotated[QueryId, Path(alias="id", description="The customer id (userId)")]


SourceQuery = Query(default=None, max_length=40, description="INSTORE, WECHAT, ...")
AccountQuery = Query(default=None, alias="accountId", max_length=100)


def _by_identifier(
    identifier_name: str = Query(
        alias="identifierName", max_length=40, description="mobile, email, externalId, ..."
    ),
    identifier_value: str = Query(alias="identifierValue", min_length=1, max_length=255),
    source: str | None = SourceQuery,
    account_id: str | None = AccountQuery,
) -> lookup.ByIdentifier:
    return lookup.ByIdentifier(identifier_name, identifier_value, source, account_id)


# The customer named by query parameters; looked up in the handler, after the
# body has been validated.
ByIdentifier = Annotated[lookup.ByIdentifier, Depends(_by_identifier)]


@router.post("/v2/customers", response_model=CreatedWithSideEffects, summary="Add a customer")
def add_customer(
    body: CustomerCreate, change: Change, session: Session, source: str | None = SourceQuery
) -> CreatedWithSideEffects:
    customer_id, warnings = service.add_customer(session, change, body, source)
    return CreatedWithSideEffects(created_id=customer_id, warnings=warnings)


@router.get("/v2/customers/lookup", response_model=Entity, summary="Customer id by identifier")
def lookup_id(by: ByIdentifier, caller: CurrentCaller, session: Session) -> Entity:
    return Entity(entity=lookup.find(session, caller.org_id, by).id)


@router.get(
    "/v2/customers/lookup/customerDetails",
    summary="Customer details by identifier",
    response_model=None,
    responses={200: {"model": CustomerOut}},
)
def lookup_details(by: ByIdentifier, caller: CurrentCaller, session: Session) -> dict[str, Any]:
    customer = lookup.find(session, caller.org_id, by)
    return service.customer_view(session, customer, mask=caller.masks_psi)


@router.put(
    "/v2/customers/lookup",
    response_model=CreatedWithSideEffects,
    summary="Update a customer found by identifier",
)
def update_by_lookup(
    body: CustomerUpdate, by: ByIdentifier, change: Change, session: Session
) -> CreatedWithSideEffects:
    customer = lookup.find(session, change.org_id, by, for_update=True)
    warnings = service.update_customer(session, change, customer, body, by.source)
    return CreatedWithSideEffects(created_id=customer.id, warnings=warnings)


@router.put(
    "/v2/customers/lookup/status",
    response_model=Created,
    summary="Change a customer's status label",
)
def update_status(
    body: StatusUpdate, by: ByIdentifier, change: Change, session: Session
) -> Created:
    customer = lookup.find(session, change.org_id, by, for_update=True)
    service.update_status(session, change, customer, body, lookup.normalize_source(by.source))
    return Created(created_id=customer.id)


@router.get(
    "/v2/customers/{id}",
    summary="Customer details",
    response_model=None,
    responses={200: {"model": CustomerOut}},
)
def get_customer(
    caller: CurrentCaller, session: Session, customer_id: CustomerId
) -> dict[str, Any]:
    customer = lookup.get_customer(session, caller.org_id, customer_id)
    return service.customer_view(session, customer, mask=caller.masks_psi)


@router.put("/v2/customers/{id}", response_model=CreatedWithSideEffects, summary="Update")
def update_customer(
    body: CustomerUpdate,
    change: Change,
    session: Session,
    customer_id: CustomerId,
    source: str | None = SourceQuery,
) -> CreatedWithSideEffects:
    customer = lookup.active_customer(session, change.org_id, customer_id)
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
    customer_id: CustomerId,
    source: str | None = SourceQuery,
    account_id: str | None = AccountQuery,
) -> Created:
    customer = lookup.active_customer(session, change.org_id, customer_id)
    warnings = service.change_identifiers(session, change, customer, body, source, account_id)
    return Created(created_id=customer.id, warnings=warnings)


@router.post(
    "/v2/customers/{id}/subscriptions",
    summary="Opt in or out of channels",
    response_model=None,
    responses={200: {"model": SubscriptionsOut}},
)
def update_subscriptions(
    body: SubscriptionsUpdate,
    change: Change,
    session: Session,
    customer_id: CustomerId,
) -> dict[str, Any]:
    customer = lookup.active_customer(session, change.org_id, customer_id)
    service.update_subscriptions(session, change, customer, body)
    return {**body.model_dump(by_alias=True), "warnings": []}


@router.post("/v2/requests", response_model=Created, summary="Customer merge request")
def add_request(
    body: MergeRequestCreate,
    change: Change,
    session: Session,
    client_auto_approve: Annotated[QueryBool, Query()] = False,
    source: str | None = SourceQuery,
) -> Created:
    request = merge.create_request(session, change, body, client_auto_approve)
    return Created(created_id=request.id)


@router.put(
    "/v2/requests",
    summary="Approve or reject merge requests",
    response_model=None,
    responses={200: {"model": DecisionsOut}},
)
def decide_requests(
    change: Change,
    session: Session,
    body: list[MergeRequestDecision] = Body(max_length=100),
) -> dict[str, Any]:
    return merge.decide(session, change, body)


@router.get(
    "/v2/requests/{id}",
    summary="A merge request",
    response_model=None,
    responses={200: {"model": MergeRequestOut}},
)
def get_request(
    caller: CurrentCaller,
    session: Session,
    request_id: Annotated[QueryId, Path(alias="id")],
) -> dict[str, Any]:
    request = merge.get_request(session, caller.org_id, request_id)
    return merge.request_view(session, request, caller.org_timezone)
