"""Definitions, webhooks and transformer mappings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from eventrail.deps import AdminCaller, CurrentCaller, Session, answers
from eventrail.events import service
from eventrail.events.schemas import (
    AdapterMappingIn,
    AdaptersList,
    DefinitionList,
    Done,
    EventCreated,
    EventDefinitionIn,
    MappingList,
    MetaFieldsList,
    StandardEventsList,
    WebhookCreated,
    WebhookIn,
    WebhookList,
    WebhookRef,
)
from eventrail.kit.schemas import QueryBool
from eventrail.orgs.service import get_org

# Reads are open to every till and client of the org; every write needs the admin
# permission (AdminCaller, docs/security.md).
router = APIRouter(prefix="/v2/events", tags=["event definitions and webhooks"])

_OK: dict[str, Any] = {"warnings": [], "errors": []}


def _envelope(data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": data, "warnings": [], "errors": []}


def public_base_url(request: Request) -> str:
    configured: str | None = request.app.state.settings.public_url
    return configured or str(request.base_url).rstrip("/")


@router.post("", summary="Create a custom event", **answers(EventCreated, admin_only=True))
def create_event(body: EventDefinitionIn, caller: AdminCaller, session: Session) -> Any:
    definition = service.create_definition(session, caller.org_id, body)
    return {**_OK, "eventId": definition.event_id}


@router.put(
    "",
    summary="Replace a custom event's definition (fields left out are removed)",
    **answers(Done, admin_only=True),
)
def update_event(body: EventDefinitionIn, caller: AdminCaller, session: Session) -> Any:
    service.update_definition(session, caller.org_id, body)
    return dict(_OK)


def _views(session: Session, org_id: int, name: str | None) -> list[dict[str, Any]]:
    org = get_org(session, org_id)
    mappings = service.list_mappings(session, org_id)
    return [
        service.definition_view(d, org, mappings)
        for d in service.list_definitions(session, org_id, name)
    ]


@router.get("", summary="The org's events, or one by eventName", **answers(DefinitionList))
def list_events(
    caller: CurrentCaller,
    session: Session,
    event_name: str | None = Query(default=None, alias="eventName", max_length=200),
) -> Any:
    return _envelope(_views(session, caller.org_id, event_name))


@router.get("/meta", summary="One event's definition", **answers(DefinitionList))
def event_meta(
    caller: CurrentCaller,
    session: Session,
    event_name: str = Query(alias="event_name", min_length=1, max_length=200),
) -> Any:
    service.get_definition(session, caller.org_id, event_name)
    return _envelope(_views(session, caller.org_id, event_name))


@router.put("/disable", summary="Disable an event (irreversible)", **answers(Done, admin_only=True))
def disable_event(
    caller: AdminCaller,
    session: Session,
    event_name: str = Query(alias="event_name", min_length=1, max_length=200),
) -> Any:
    service.disable_definition(session, caller.org_id, event_name)
    return dict(_OK)


@router.post(
    "/webhook",
    summary="Create a webhook (one per transformer)",
    **answers(WebhookCreated, admin_only=True),
)
def create_webhook(body: WebhookIn, caller: AdminCaller, session: Session, request: Request) -> Any:
    webhook, till = service.create_webhook(session, caller.org_id, body)
    view = service.webhook_view(webhook, till.code, public_base_url(request))
    return {**view, "warnings": []}


@router.put(
    "/webhook",
    summary="Change a webhook (named by webHookUri or webHookId)",
    **answers(Done, admin_only=True),
)
def update_webhook(body: WebhookIn, caller: AdminCaller, session: Session) -> Any:
    service.update_webhook(session, caller.org_id, body)
    return dict(_OK)


@router.get("/webhooks", summary="The org's webhooks", **answers(WebhookList))
def list_webhooks(caller: CurrentCaller, session: Session, request: Request) -> Any:
    base = public_base_url(request)
    return _envelope(
        [
            service.webhook_view(webhook, till.code, base)
            for webhook, till in service.list_webhooks(session, caller.org_id)
        ]
    )


@router.put("/webhook/disable", summary="Disable a webhook", **answers(Done, admin_only=True))
def disable_webhook(body: WebhookRef, caller: AdminCaller, session: Session) -> Any:
    service.disable_webhook(session, caller.org_id, body.web_hook_id)
    return dict(_OK)


@router.post(
    "/adapter_mapping",
    summary="Map a transformer's foreign payloads to events",
    **answers(Done, admin_only=True),
)
def set_adapter_mapping(body: AdapterMappingIn, caller: AdminCaller, session: Session) -> Any:
    service.set_mapping(session, caller.org_id, body)
    return dict(_OK)


@router.get("/adapter_mapping", summary="The org's transformer mappings", **answers(MappingList))
def list_adapter_mappings(caller: CurrentCaller, session: Session) -> Any:
    return _envelope(
        [service.mapping_view(m) for m in service.list_mappings(session, caller.org_id)]
    )


# -- the catalogues and the standard events library --------------------------------------
@router.get(
    "/meta_fields",
    summary="The field types, with the attributes each takes (the validator's own rules)",
    **answers(MetaFieldsList),
)
def meta_fields(caller: CurrentCaller) -> Any:
    return _envelope(service.meta_fields())


@router.get(
    "/adapters_meta",
    summary="The transformers (built in and the org's own), with the org's mappings",
    **answers(AdaptersList),
)
def adapters_meta(caller: CurrentCaller, session: Session) -> Any:
    return _envelope(service.adapters_meta(session, caller.org_id))


@router.get(
    "/standard_events_meta",
    summary="The standard events library, and which of them the org has enabled",
    **answers(StandardEventsList),
)
def standard_events_meta(caller: CurrentCaller, session: Session) -> Any:
    return _envelope(service.standard_events_meta(session, caller.org_id))


@router.post(
    "/standard_events/enable",
    summary="Enable a standard event: define it in the org as the library has it",
    **answers(Done, admin_only=True),
)
def enable_standard_event(
    caller: AdminCaller,
    session: Session,
    event_name: str = Query(
        alias="event_name",
        min_length=1,
        max_length=200,
        description="The standard event's eventName (or label), e.g. ProductRemovedFromCart",
    ),
    use_standard_adapter_mappings: QueryBool = Query(
        default=False,
        alias="use_standard_adapter_mappings",
        description="true: also map its WebEngage payloads (WebEngageTransformer) to it",
    ),
) -> Any:
    service.enable_standard_event(
        session,
        caller.org_id,
        event_name,
        use_standard_adapter_mappings=use_standard_adapter_mappings,
    )
    return dict(_OK)
