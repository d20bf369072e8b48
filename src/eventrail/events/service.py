"""Rules of event definitions, webhooks and transformer mappings (as in Capillary)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from eventrail.errors import BadRequest
from eventrail.events import fields as f
from eventrail.events import standard
from eventrail.events.cache import forget_after_commit
from eventrail.events.exceptions import (
    AuthMechanismMissing,
    EventExists,
    EventNotFound,
    InvalidActions,
    InvalidEventName,
    InvalidFieldAttribute,
    InvalidFieldType,
    TransformerMissing,
    WebhookNotFound,
)
from eventrail.events.repository import EventRepository
from eventrail.events.schemas import AdapterMappingIn, EventDefinitionIn, WebhookIn
from eventrail.kit.dates import now_ms
from eventrail.kit.security import new_hex_id
from eventrail.models import EventDefinition, Org, Till, TransformerMapping, Webhook

ACTIONS = ("EMFConsumer", "EIConsumer")
EVENT_TYPES = ("USEREVENT", "PRODUCTEVENT", "COUPONEVENT")
DEFAULT_EVENT_TYPE = "USEREVENT"
MAX_ACTIVE_EVENTS = 100
DEFAULT_TRANSFORMER = "defaultTransformer"
WEBENGAGE_TRANSFORMER = "WebEngageTransformer"
_KNOWN_TRANSFORMERS = {t.lower(): t for t in (DEFAULT_TRANSFORMER, WEBENGAGE_TRANSFORMER)}
_TRANSFORMER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$", re.ASCII)
_EVENT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\- .]{0,99}$", re.ASCII)
AUTH_MECHANISMS = ("BASIC", "OAUTH")


# -- definitions --------------------------------------------------------------------
def _check_name(name: str) -> str:
    name = name.strip()
    if not _EVENT_NAME.match(name):
        raise InvalidEventName(
            f"event name invalid: '{name}' (1 to 100 letters, digits, '_', '-', '.' or spaces)"
        )
    return name


def _check_definition(
    body: EventDefinitionIn, name: str, standard_type: str | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    actions: list[str] = []
    for action in body.actions:
        canonical = next((a for a in ACTIONS if a.lower() == action.strip().lower()), None)
        if canonical is None:
            raise InvalidActions(name)
        if canonical not in actions:
            actions.append(canonical)
    if not actions:
        raise InvalidActions(name)
    allowed = EVENT_TYPES if standard_type is None else (standard_type,)
    if body.event_type is not None and body.event_type.upper() not in allowed:
        raise BadRequest(
            f"Invalid value for field 'eventType': must be one of {', '.join(allowed)}"
        )
    stored: list[dict[str, Any]] = []
    for item in body.fields:
        stored.append(f.normalize_field(item.model_dump()))
    names = [field["name"] for field in stored]
    if len(set(names)) != len(names):
        raise InvalidFieldAttribute("field names must be unique within an event")
    customers = [field for field in stored if field["type"] == "CUSTOMER"]
    if len(customers) != 1:
        raise InvalidFieldType(
            f"an event needs exactly one customer field (found {len(customers)})"
        )
    return actions, stored


def create_definition(session: Session, org_id: int, body: EventDefinitionIn) -> EventDefinition:
    repo = EventRepository(session)
    name = _check_name(body.event_name)
    actions, fields = _check_definition(body, name)
    if repo.definition(org_id, name) is not None:
        raise EventExists(name)
    if repo.enabled_definition_count(org_id) >= MAX_ACTIVE_EVENTS:
        raise BadRequest(f"An org can have at most {MAX_ACTIVE_EVENTS} active events")
    now = now_ms()
    definition = EventDefinition(
        event_id=new_hex_id(),
        org_id=org_id,
        event_name=name,
        label=body.label,
        description=body.description,
        event_type=body.event_type.upper() if body.event_type else None,
        actions=actions,
        fields=fields,
        enabled=True,
        verified=False,
        created_at=now,
        updated_at=now,
    )
    if not repo.insert(definition):
        raise EventExists(name)
    return definition


def update_definition(session: Session, org_id: int, body: EventDefinitionIn) -> EventDefinition:
    """Full replacement: fields left out are removed."""
    repo = EventRepository(session)
    name = body.event_name.strip()
    definition = repo.definition(org_id, name)
    if definition is None:
        raise EventNotFound(name)
    if not definition.enabled:
        raise BadRequest(f"Event {name} is disabled and cannot be changed")
    standard_type = definition.event_type if definition.standard else None
    actions, fields = _check_definition(body, name, standard_type)
    new_unique = {field["name"] for field in fields if f.parse_field(field).unique}
    for old in definition.fields:
        if f.parse_field(old).unique and old["name"] not in new_unique:
            raise InvalidFieldAttribute(
                f"field attribute value fails for validation type isUniqueKeyField: "
                f"{old['name']} is a unique key field, which cannot be reverted"
            )
    if definition.standard:  # a standard event keeps its own type
        event_type = definition.event_type
    else:
        event_type = body.event_type.upper() if body.event_type else None
    repo.update_definition(
        definition,
        actions=actions,
        fields=fields,
        description=body.description,
        label=body.label,
        event_type=event_type,
        updated_at=now_ms(),
    )
    return definition


def get_definition(session: Session, org_id: int, name: str) -> EventDefinition:
    definition = EventRepository(session).definition(org_id, name.strip())
    if definition is None:
        raise EventNotFound(name)
    return definition


def list_definitions(
    session: Session, org_id: int, name: str | None = None
) -> list[EventDefinition]:
    return list(EventRepository(session).definitions(org_id, name.strip() if name else None))


# -- the catalogues and the standard events library ---------------------------------
def meta_fields() -> list[dict[str, Any]]:
    """The field types and their attributes: ``fields.catalogue``, the validator's rules."""
    return f.catalogue()


def standard_events_meta(session: Session, org_id: int) -> list[dict[str, Any]]:
    """The standard events library, each with whether the org has it (``enabled``)."""
    defined = {d.event_name: d for d in EventRepository(session).definitions(org_id)}
    out = []
    for event in standard.STANDARD_EVENTS:
        mine = defined.get(event.event_name)
        out.append(
            {
                "eventName": event.event_name,
                "label": event.label,
                "category": event.category,
                "eventType": event.event_type,
                "description": event.description,
                "actions": list(event.actions),
                "fields": [f.normalize_field(dict(item)) for item in event.fields],
                "standardAdapterMapping": {
                    "transformerType": WEBENGAGE_TRANSFORMER,
                    "eventMapper": {
                        "fieldName": standard.WEBENGAGE_NAME_PATH,
                        "valueMap": {event.webengage_name: event.event_name},
                    },
                    "eventFieldMappings": standard.webengage_field_mappings(event),
                },
                "enabled": bool(mine is not None and mine.standard and mine.enabled),
            }
        )
    return out


def enable_standard_event(
    session: Session, org_id: int, event_name: str, *, use_standard_adapter_mappings: bool
) -> EventDefinition:
    """Define a standard event in the org, as the library has it; with
    ``use_standard_adapter_mappings``, also map its WebEngage payloads to it."""
    event = standard.find(event_name)
    if event is None:
        raise InvalidEventName(
            f"Invalid value for query parameter 'event_name': no standard event '{event_name}' "
            "(GET /v2/events/standard_events_meta lists them)"
        )
    body = EventDefinitionIn.model_validate(
        {
            "eventName": event.event_name,
            "label": event.label,
            "description": event.description,
            "eventType": event.event_type,
            "actions": list(event.actions),
            "fields": [dict(item) for item in event.fields],
        }
    )
    repo = EventRepository(session)
    actions, fields = _check_definition(body, event.event_name, event.event_type)
    if repo.definition(org_id, event.event_name) is not None:
        raise EventExists(event.event_name)
    if repo.enabled_definition_count(org_id) >= MAX_ACTIVE_EVENTS:
        raise BadRequest(f"An org can have at most {MAX_ACTIVE_EVENTS} active events")
    now = now_ms()
    definition = EventDefinition(
        event_id=new_hex_id(),
        org_id=org_id,
        event_name=event.event_name,
        label=event.label,
        description=event.description,
        event_type=event.event_type,
        actions=actions,
        fields=fields,
        enabled=True,
        verified=False,
        standard=True,
        created_at=now,
        updated_at=now,
    )
    if not repo.insert(definition):
        raise EventExists(event.event_name)
    if use_standard_adapter_mappings:
        current = repo.mapping(org_id, WEBENGAGE_TRANSFORMER)
        path = current.name_path if current is not None else standard.WEBENGAGE_NAME_PATH
        set_mapping(
            session,
            org_id,
            AdapterMappingIn.model_validate(
                {
                    "transformerType": WEBENGAGE_TRANSFORMER,
                    "eventsMapped": [event.event_name],
                    "webEngageTransformerData": {
                        "eventMapper": {
                            "fieldName": path,
                            "valueMap": {event.webengage_name: event.event_name},
                        },
                        "eventFieldMapper": {
                            event.event_name: standard.webengage_field_mappings(event)
                        },
                    },
                }
            ),
        )
    return definition


def disable_definition(session: Session, org_id: int, name: str) -> None:
    definition = get_definition(session, org_id, name)
    if not definition.enabled:
        raise BadRequest(f"Event {name} is already disabled")
    EventRepository(session).disable_definition(definition, now_ms())


def _mapping_key(transformer_type: str) -> str:
    return transformer_type[0].lower() + transformer_type[1:] + "Mapping"


def definition_view(
    definition: EventDefinition, org: Org, mappings: list[TransformerMapping]
) -> dict[str, Any]:
    """``{"clickEventsMeta": {...}, "transformerMappings": {...}}`` as GET /v2/events shows."""
    meta: dict[str, Any] = {
        "eventId": definition.event_id,
        "eventName": definition.event_name,
    }
    if definition.label is not None:
        meta["label"] = definition.label
    if definition.description is not None:
        meta["description"] = definition.description
    # A custom event is a USEREVENT unless the client said otherwise (Capillary's samples).
    meta["eventType"] = definition.event_type or DEFAULT_EVENT_TYPE
    meta.update(
        {
            "actions": definition.actions,
            "fields": definition.fields,
            "orgId": definition.org_id,
            "status": "PUBLISHED" if definition.enabled else "DISABLED",
            "testStatus": "VERIFIED" if definition.verified else "NOT_VERIFIED",
            "connectedOrgContext": {
                "orgType": "CHILD_ORG" if org.parent_org_id is not None else "STANDARD_ORG"
            },
            "date": definition.created_at,
            "standardEvent": definition.standard,
        }
    )
    transformer_mappings: dict[str, Any] = {
        "defaultTransformerMapping": None,
        "webEngageTransformerMapping": None,
    }
    for mapping in mappings:
        value_map = {
            src: dst for src, dst in mapping.value_map.items() if dst == definition.event_name
        }
        field_mappings = mapping.field_mappings.get(definition.event_name)
        mapped = definition.event_name in mapping.events_mapped
        if not value_map and field_mappings is None and not mapped:
            continue
        transformer_mappings[_mapping_key(mapping.transformer_type)] = {
            "eventNameMapping": {"valueMap": value_map},
            "eventFieldMappings": field_mappings or [],
        }
    return {"clickEventsMeta": meta, "transformerMappings": transformer_mappings}


# -- webhooks -----------------------------------------------------------------------
def canonical_transformer(raw: str | None) -> str:
    if raw is None or not raw.strip():
        raise TransformerMissing()
    name = raw.strip()
    known = _KNOWN_TRANSFORMERS.get(name.lower())
    if known is not None:
        return known
    if not _TRANSFORMER_NAME.match(name):
        raise TransformerMissing(
            f"customer event transformer not present: '{name}' is not a transformer name"
        )
    return name


def _auth_mechanism(raw: str | None, enabled: bool) -> str | None:
    if raw is None or not raw.strip():
        if enabled:
            raise AuthMechanismMissing()
        return None
    mechanism = raw.strip().upper()
    if mechanism not in AUTH_MECHANISMS:
        raise AuthMechanismMissing(
            f"auth mechanism not present: '{raw}' is not one of {', '.join(AUTH_MECHANISMS)}"
        )
    return mechanism


def _till(repo: EventRepository, org_id: int, code: str | None) -> Till:
    if code is None or not code.strip():
        raise BadRequest("Missing required field 'tillCode' in request body")
    till = repo.till_by_code(org_id, code.strip())
    if till is None:
        raise BadRequest(f"Invalid value for field 'tillCode': no till '{code}' in this org")
    return till


def create_webhook(session: Session, org_id: int, body: WebhookIn) -> tuple[Webhook, Till]:
    repo = EventRepository(session)
    transformer = canonical_transformer(body.transformer_type)
    till = _till(repo, org_id, body.till_code)
    auth_enabled = bool(body.auth_enabled)
    mechanism = _auth_mechanism(body.auth_mechanism, auth_enabled)
    if repo.enabled_webhook_for(org_id, transformer) is not None:
        raise _one_per_transformer(transformer)
    now = now_ms()
    webhook = Webhook(
        id=new_hex_id(),
        org_id=org_id,
        transformer_type=transformer,
        transformer_key=transformer.lower(),
        till_id=till.id,
        auth_enabled=auth_enabled,
        auth_mechanism=mechanism,
        uniqueness_check_enabled=bool(body.uniqueness_check_enabled),
        listen_to_child_events=bool(body.listen_to_child_events),
        enabled=True,
        created_at=now,
        updated_at=now,
    )
    if not repo.insert(webhook):
        raise _one_per_transformer(transformer)
    return webhook, till


def _one_per_transformer(transformer: str) -> BadRequest:
    return BadRequest(
        f"A webhook for transformer {transformer} already exists: an org has one webhook "
        "per transformer (change it with PUT /v2/events/webhook)"
    )


def _webhook_id_from(body: WebhookIn) -> str | None:
    if body.web_hook_id:
        return body.web_hook_id.strip()
    if body.web_hook_uri:
        return body.web_hook_uri.rstrip("/").rsplit("/", 1)[-1]
    return None


def update_webhook(session: Session, org_id: int, body: WebhookIn) -> Webhook:
    repo = EventRepository(session)
    webhook_id = _webhook_id_from(body)
    if webhook_id is not None:
        webhook = repo.webhook(org_id, webhook_id)
    else:
        webhook = repo.enabled_webhook_for(org_id, canonical_transformer(body.transformer_type))
    if webhook is None or not webhook.enabled:
        raise WebhookNotFound()
    if body.transformer_type is not None:
        transformer = canonical_transformer(body.transformer_type)
        if transformer.lower() != webhook.transformer_type.lower():
            other = repo.enabled_webhook_for(org_id, transformer)
            if other is not None and other.id != webhook.id:
                raise _one_per_transformer(transformer)
            webhook.transformer_type = transformer
            webhook.transformer_key = transformer.lower()
    if body.till_code is not None:
        webhook.till_id = _till(repo, org_id, body.till_code).id
    if body.auth_enabled is not None:
        webhook.auth_enabled = body.auth_enabled
    if body.auth_mechanism is not None or body.auth_enabled:
        webhook.auth_mechanism = _auth_mechanism(
            body.auth_mechanism or webhook.auth_mechanism, webhook.auth_enabled
        )
    if body.uniqueness_check_enabled is not None:
        if webhook.uniqueness_check_enabled and not body.uniqueness_check_enabled:
            raise BadRequest(
                "Invalid value for field 'uniquenessCheckEnabled': once enabled, the "
                "uniqueness check cannot be disabled"
            )
        webhook.uniqueness_check_enabled = body.uniqueness_check_enabled
    if body.listen_to_child_events is not None:
        webhook.listen_to_child_events = body.listen_to_child_events
    if not repo.save_webhook(webhook, updated_at=now_ms()):
        raise _one_per_transformer(webhook.transformer_type)
    forget_after_commit(session, webhook.id)
    return webhook


def disable_webhook(session: Session, org_id: int, webhook_id: str) -> None:
    repo = EventRepository(session)
    webhook = repo.webhook(org_id, webhook_id.strip())
    if webhook is None or not webhook.enabled:
        raise WebhookNotFound()
    repo.disable_webhook(webhook, now_ms())
    forget_after_commit(session, webhook.id)


def list_webhooks(session: Session, org_id: int) -> list[tuple[Webhook, Till]]:
    return list(EventRepository(session).webhooks(org_id))


def webhook_view(webhook: Webhook, till_code: str, base_url: str) -> dict[str, Any]:
    return {
        "transformerType": webhook.transformer_type,
        "webHookId": webhook.id,
        "uniquenessCheckEnabled": webhook.uniqueness_check_enabled,
        "tillCode": till_code,
        "webHookUri": f"{base_url}/webhooks/{webhook.id}",
        "authEnabled": webhook.auth_enabled,
        "authMechanism": webhook.auth_mechanism,
        "listenToChildEvents": webhook.listen_to_child_events,
        "enabled": webhook.enabled,
    }


# -- adapter (transformer) mappings -------------------------------------------------
def set_mapping(session: Session, org_id: int, body: AdapterMappingIn) -> TransformerMapping:
    """Merge a transformer's mapping: event-name map, per-event field maps, mapped events."""
    repo = EventRepository(session)
    transformer = canonical_transformer(body.transformer_type)
    data = body.web_engage_transformer_data or body.transformer_data
    definitions = {d.event_name: d for d in repo.definitions(org_id)}
    for name in body.events_mapped:
        if name not in definitions:
            raise BadRequest(f"Invalid value for field 'eventsMapped': no event {name}")
    if transformer != DEFAULT_TRANSFORMER and data is None and not body.events_mapped:
        raise BadRequest(
            "Missing required field 'webEngageTransformerData' (or 'transformerData') in request "
            "body: a mapping transformer needs eventMapper and eventFieldMapper"
        )
    mapping = repo.mapping(org_id, transformer, for_update=True)
    if mapping is None:
        fresh = TransformerMapping(
            org_id=org_id,
            transformer_type=transformer,
            name_path="event_name",
            value_map={},
            field_mappings={},
            events_mapped=[],
            updated_at=now_ms(),
        )
        # A concurrent first mapping may win the insert; then merge into it.
        mapping = (
            fresh if repo.insert(fresh) else repo.mapping(org_id, transformer, for_update=True)
        )
        assert mapping is not None
    name_path = mapping.name_path
    value_map = dict(mapping.value_map)
    field_mappings = dict(mapping.field_mappings)
    if data is not None:
        if data.event_mapper is not None:
            name_path = data.event_mapper.field_name.strip()
            if not name_path:
                raise BadRequest(
                    "Invalid value for field 'eventMapper.fieldName': a dotted path is required"
                )
            for src, dst in data.event_mapper.value_map.items():
                if dst not in definitions:
                    raise BadRequest(
                        f"Invalid value for field 'eventMapper.valueMap.{src}': no event {dst}"
                    )
                value_map[src] = dst
        for event_name, items in data.event_field_mapper.items():
            definition = definitions.get(event_name)
            if definition is None:
                raise BadRequest(
                    f"Invalid value for field 'eventFieldMapper.{event_name}': no such event"
                )
            known = {field["name"] for field in definition.fields} | {
                "eventDateTime",
                "external_event_id",
            }
            for item in items:
                if not item.field_name.strip():
                    raise BadRequest(
                        f"Invalid value for field 'eventFieldMapper.{event_name}': fieldName of "
                        f"{item.event_field_name} must be a dotted path"
                    )
                if item.event_field_name not in known:
                    raise BadRequest(
                        f"Invalid value for field 'eventFieldMapper.{event_name}': event "
                        f"{event_name} has no field {item.event_field_name}"
                    )
            field_mappings[event_name] = [
                {"eventFieldName": i.event_field_name, "fieldName": i.field_name.strip()}
                for i in items
            ]
    repo.update_mapping(
        mapping,
        name_path=name_path,
        value_map=value_map,
        field_mappings=field_mappings,
        events_mapped=list(dict.fromkeys([*mapping.events_mapped, *body.events_mapped])),
        updated_at=now_ms(),
    )
    return mapping


_ADAPTERS = (
    (
        "DefaultTransformer",
        DEFAULT_TRANSFORMER,
        "Used if no mapping is required: the payload is flat, event_name and one key per field",
    ),
    (
        "WebEngageTransformer",
        WEBENGAGE_TRANSFORMER,
        "Used for WebEngage or webhook mapping: eventMapper names the event, eventFieldMapper "
        "reads each field from a dotted path of the payload",
    ),
)


def adapters_meta(session: Session, org_id: int) -> list[dict[str, Any]]:
    """The transformers: the two built in, then the org's own (named by its webhooks or
    its mappings), each with the org's mapping (null when it has none)."""
    repo = EventRepository(session)
    mappings = {m.transformer_type.lower(): m for m in repo.mappings(org_id)}
    out = []
    for name, key, description in _ADAPTERS:
        out.append(_adapter(name, description, False, mappings.get(key.lower())))
    custom = dict.fromkeys(
        [webhook.transformer_type for webhook, _ in repo.webhooks(org_id)]
        + [m.transformer_type for m in mappings.values()]
    )
    for name in custom:
        if name.lower() in _KNOWN_TRANSFORMERS:
            continue
        description = "The org's own transformer: a mapping like WebEngageTransformer's"
        out.append(_adapter(name, description, True, mappings.get(name.lower())))
    return out


def _adapter(
    name: str, description: str, custom: bool, mapping: TransformerMapping | None
) -> dict[str, Any]:
    return {
        "transformerType": name,
        "description": description,
        "custom": custom,
        "mapping": mapping_view(mapping) if mapping is not None else None,
    }


def list_mappings(session: Session, org_id: int) -> list[TransformerMapping]:
    return list(EventRepository(session).mappings(org_id))


def mapping_view(mapping: TransformerMapping) -> dict[str, Any]:
    return {
        "transformerType": mapping.transformer_type,
        "eventsMapped": mapping.events_mapped,
        "eventMapper": {"fieldName": mapping.name_path, "valueMap": mapping.value_map},
        "eventFieldMapper": mapping.field_mappings,
    }
