"""Org provisioning and configuration rules."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from eventrail.audit.service import MASK, AuditEvent, value_change
from eventrail.auth.schemas import Caller
from eventrail.auth.service import forget_org_after_commit
from eventrail.errors import BadRequest
from eventrail.kit.dates import now_ms, zone
from eventrail.kit.plainsql import SessionStatements
from eventrail.kit.values import (
    ValueRefused,
    boolean_text,
    double_text,
    integer_text,
    string_text,
)
from eventrail.models import (
    CardSeries,
    FieldDefinition,
    FieldValue,
    Org,
    SettingsChange,
    StatusLabel,
    UserGroup,
)
from eventrail.notifications import names as notices
from eventrail.notifications.emit import emit
from eventrail.orgs import provision
from eventrail.orgs import vocabulary as v
from eventrail.orgs.exceptions import AuditedFieldLimit, GroupNotFound, OrgNotFound, SeriesExists
from eventrail.orgs.repository import FieldValueRepository, OrgRepository
from eventrail.orgs.schemas import (
    FieldCreate,
    GroupCreate,
    GroupMembersUpdate,
    LabelCreate,
    OrgSettingsUpdate,
    RetentionUpdate,
    SeriesCreate,
)


def create_org(
    session: Session,
    *,
    name: str,
    org_id: int | None = None,
    parent_org_id: int | None = None,
    timezone: str = "UTC",
) -> Org:
    """A new org with one default label per customer status and per card status
    (orgs/provision.py, which ``eventrail org create`` runs without the ORM)."""
    new_id = provision.create_org(
        SessionStatements(session),
        name=name,
        org_id=org_id,
        parent_org_id=parent_org_id,
        timezone=timezone,
    )
    return get_org(session, new_id)


def get_org(session: Session, org_id: int) -> Org:
    org = OrgRepository(session).org(org_id)
    if org is None:
        raise OrgNotFound()
    return org


def _settings_values(org: Org) -> dict[str, Any]:
    return {
        "timezone": org.timezone,
        "psiMaskingEnabled": org.psi_masking_enabled,
        "rateLimitPerMinute": org.rate_limit_per_minute,
        "retention": {
            "eventLogsDays": org.event_logs_days,
            "eventDataDays": org.event_data_days,
            "auditDays": org.audit_days,
        },
    }


def _update_retention(org: Org, update: RetentionUpdate) -> None:
    """The values given; a null puts one back to the default."""
    given = update.model_fields_set
    if "event_logs_days" in given:
        org.event_logs_days = update.event_logs_days
    if "event_data_days" in given:
        org.event_data_days = update.event_data_days
    if "audit_days" in given:
        org.audit_days = update.audit_days


def update_settings(
    session: Session, caller: Caller, request_id: str, update: OrgSettingsUpdate
) -> Org:
    """Change the caller's org settings; a change is recorded in the org's settings
    history (who, when, the values before and after), in the same transaction."""
    org = get_org(session, caller.org_id)
    before = _settings_values(org)
    if update.timezone is not None:
        try:
            zone(update.timezone)
        except ValueError as exc:
            raise BadRequest(
                f"Invalid value for field 'timezone': unknown timezone '{update.timezone}'"
            ) from exc
        org.timezone = update.timezone
    if update.psi_masking_enabled is not None:
        org.psi_masking_enabled = update.psi_masking_enabled
    if update.rate_limit_per_minute is not None:
        org.rate_limit_per_minute = update.rate_limit_per_minute
    if update.retention is not None:
        _update_retention(org, update.retention)
    after = _settings_values(org)
    history = None
    if after != before:
        history = SettingsChange(
            org_id=org.id,
            request_id=request_id,
            till_id=caller.till_id,
            till_code=caller.till_code,
            client_id=caller.client_id,
            changed_at=now_ms(),
            before=before,
            after=after,
        )
    OrgRepository(session).save_settings(org, history)
    forget_org_after_commit(session, org.id)
    return org


def settings_history(
    session: Session, org_id: int, *, limit: int, offset: int
) -> Sequence[SettingsChange]:
    return OrgRepository(session).settings_changes(org_id, limit, offset)


def list_labels(session: Session, org_id: int, entity_type: str) -> Sequence[StatusLabel]:
    return OrgRepository(session).labels(org_id, entity_type)


def list_series(session: Session, org_id: int) -> Sequence[CardSeries]:
    return OrgRepository(session).series_list(org_id)


def list_fields(session: Session, org_id: int) -> Sequence[FieldDefinition]:
    return OrgRepository(session).fields(org_id)


def list_groups(session: Session, org_id: int) -> list[tuple[UserGroup, list[int]]]:
    """Every group of the org with its member customer ids."""
    repo = OrgRepository(session)
    groups = repo.groups(org_id)
    members = repo.group_member_ids(org_id, [g.id for g in groups])
    return [(group, members[group.id]) for group in groups]


def group_members(session: Session, org_id: int, group: UserGroup) -> list[int]:
    return OrgRepository(session).group_member_ids(org_id, [group.id])[group.id]


def find_label(
    session: Session, org_id: int, entity_type: str, name: str | None, default_status: str
) -> StatusLabel | None:
    """The org's label named ``name`` (exact, else case-insensitive), or when no name
    is given, the default label of ``default_status``."""
    repo = OrgRepository(session)
    if name is not None:
        return repo.label_by_name(org_id, entity_type, name.strip())
    return repo.default_label(org_id, entity_type, default_status)


def add_label(session: Session, org_id: int, entity_type: str, body: LabelCreate) -> StatusLabel:
    statuses = v.CUSTOMER_STATUSES if entity_type == v.CUSTOMER else v.CARD_STATUSES
    status = body.status.upper()
    if status not in statuses:
        raise BadRequest(f"Invalid value for field 'status': must be one of {', '.join(statuses)}")
    repo = OrgRepository(session)
    existing = repo.labels(org_id, entity_type)
    if any(label.label == body.label for label in existing):
        raise BadRequest(f"Invalid value for field 'label': '{body.label}' already exists")
    label = StatusLabel(
        org_id=org_id,
        entity_type=entity_type,
        status=status,
        label=body.label,
        is_default=not any(label.status == status for label in existing),
        created_at=now_ms(),
    )
    repo.add(label)
    return label


def add_series(session: Session, org_id: int, body: SeriesCreate) -> CardSeries:
    repo = OrgRepository(session)
    if repo.series_by_code(org_id, body.code) is not None:
        raise SeriesExists()
    series = CardSeries(org_id=org_id, name=body.name, code=body.code, created_at=now_ms())
    repo.add(series)
    return series


def add_field(session: Session, org_id: int, body: FieldCreate) -> FieldDefinition:
    repo = OrgRepository(session)
    if repo.field(org_id, body.entity_type, body.kind, body.name) is not None:
        raise BadRequest(
            f"Invalid value for field 'name': {body.kind} field '{body.name}' already exists "
            f"for {body.entity_type}"
        )
    if body.audit_trail and (
        repo.audited_field_count(org_id, body.entity_type, body.kind) >= v.MAX_AUDITED_FIELDS
    ):
        raise AuditedFieldLimit()
    field = FieldDefinition(
        org_id=org_id,
        entity_type=body.entity_type,
        kind=body.kind,
        name=body.name,
        data_type=body.data_type,
        audit_trail=body.audit_trail,
        psi=body.psi,
        created_at=now_ms(),
    )
    repo.add(field)
    return field


def _check_members(repo: OrgRepository, org_id: int, ids: list[int], field: str) -> None:
    found = repo.existing_customer_ids(org_id, ids)
    missing = sorted(set(ids) - found)
    if missing:
        raise BadRequest(f"Invalid value for field '{field}': no customer {missing[0]}")


def add_group(session: Session, org_id: int, body: GroupCreate) -> UserGroup:
    repo = OrgRepository(session)
    if repo.group_by_external_id(org_id, body.external_id) is not None:
        raise BadRequest(
            f"Invalid value for field 'externalId': group '{body.external_id}' already exists"
        )
    _check_members(repo, org_id, body.members, "members")
    group = UserGroup(
        org_id=org_id, external_id=body.external_id, name=body.name, created_at=now_ms()
    )
    repo.add(group)
    repo.add_members(org_id, group.id, body.members)
    members = sorted(set(body.members))
    emit(
        session,
        org_id,
        notices.GROUP_CREATED,
        group.id,
        {
            "groupId": group.id,
            "externalId": group.external_id,
            "name": group.name,
            "members": members,
        },
    )
    for customer_id in members:
        _group_notice(session, group, notices.GROUP_MEMBER_ADDED, customer_id)
    return group


def _group_notice(session: Session, group: UserGroup, name: str, customer_id: int) -> None:
    emit(
        session,
        group.org_id,
        name,
        group.id,
        {"groupId": group.id, "externalId": group.external_id, "customerId": customer_id},
    )


def update_group_members(
    session: Session, org_id: int, external_id: str, body: GroupMembersUpdate
) -> UserGroup:
    repo = OrgRepository(session)
    group = repo.group_by_external_id(org_id, external_id)
    if group is None:
        raise GroupNotFound(f"Group '{external_id}' not found")
    _check_members(repo, org_id, body.add, "add")
    before = set(repo.group_member_ids(org_id, [group.id])[group.id])
    repo.remove_members(org_id, group.id, body.remove)
    repo.add_members(org_id, group.id, body.add)
    after = set(repo.group_member_ids(org_id, [group.id])[group.id])
    for customer_id in sorted(before - after):
        _group_notice(session, group, notices.GROUP_MEMBER_REMOVED, customer_id)
    for customer_id in sorted(after - before):
        _group_notice(session, group, notices.GROUP_MEMBER_ADDED, customer_id)
    return group


# -- values of custom and extended fields ----------------------------------------
_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$",
    re.ASCII,
)
MAX_FIELD_VALUE_LENGTH = 4000


_TYPED = {"integer": integer_text, "double": double_text, "boolean": boolean_text}


def coerce_field_value(definition: FieldDefinition, raw: Any, where: str) -> str:
    """The stored (string) form of a field value, or a 400 naming the field
    (the rule of ``kit.values``, the same as for events' fields)."""
    name = f"{where}.{definition.name}"
    kind = definition.data_type
    if isinstance(raw, dict | list) or raw is None:
        raise BadRequest(f"Invalid value for field '{name}': expected a {kind}")
    if kind == "string":
        text = string_text(raw)
        if len(text) > MAX_FIELD_VALUE_LENGTH:
            raise BadRequest(
                f"Invalid value for field '{name}': longer than {MAX_FIELD_VALUE_LENGTH}"
            )
        return text
    typed = _TYPED.get(kind)
    if typed is not None:
        try:
            return typed(raw)
        except ValueRefused as refused:
            raise BadRequest(f"Invalid value for field '{name}': {refused.reason}") from None
    if kind == "date":
        if isinstance(raw, str) and _DATE.match(raw.strip()):
            try:
                datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
            except ValueError:
                pass
            else:
                return raw.strip()
        raise BadRequest(f"Invalid value for field '{name}': expected a date (yyyy-MM-dd)")
    raise BadRequest(f"Invalid value for field '{name}'")


@dataclass(frozen=True, slots=True)
class FieldChange:
    definition: FieldDefinition
    previous: str | None
    current: str


def apply_field_values(
    session: Session,
    org_id: int,
    entity_type: str,
    entity_id: int,
    kind: str,
    values: dict[str, Any],
    where: str,
) -> list[FieldChange]:
    """Validate and store custom/extended field values; return what actually changed.

    Every name must be a field the org has defined for this entity and kind;
    values are checked against the field's data type.
    """
    if not values:
        return []
    definitions = {
        d.name: d for d in OrgRepository(session).fields(org_id, entity_type) if d.kind == kind
    }
    repo = FieldValueRepository(session)
    stored = {fv.definition_id: fv for fv in repo.values(org_id, entity_type, entity_id)}
    changes: list[FieldChange] = []
    added: list[FieldValue] = []
    changed: list[tuple[FieldValue, str]] = []
    for name, raw in values.items():
        definition = definitions.get(name)
        if definition is None:
            raise BadRequest(
                f"Invalid value for field '{where}.{name}': no {kind} field '{name}' is defined "
                f"for {entity_type} (see POST /v2/orgs/settings/fields)"
            )
        value = coerce_field_value(definition, raw, where)
        existing = stored.get(definition.id)
        if existing is None:
            added.append(
                FieldValue(
                    org_id=org_id,
                    entity_type=entity_type,
                    entity_id=entity_id,
                    definition_id=definition.id,
                    value=value,
                )
            )
            changes.append(FieldChange(definition, None, value))
        elif existing.value != value:
            changes.append(FieldChange(definition, existing.value, value))
            changed.append((existing, value))
    repo.store(added, changed)
    return changes


# referenceType of a field change, by (entity type, kind)
_FIELD_REFERENCE = {
    (v.CUSTOMER, "custom"): "CustomField",
    (v.CUSTOMER, "extended"): "ExtendedField",
    (v.CARD, "custom"): "CardCustomField",
    (v.CARD, "extended"): "CardExtendedField",
}


def write_fields(
    session: Session,
    org_id: int,
    entity_type: str,
    entity_id: int,
    *,
    custom: dict[str, Any],
    extended: dict[str, Any],
    custom_key: str,
    associate_entities: list[dict[str, Any]] | None = None,
) -> list[AuditEvent | None]:
    """Store custom and extended field values; the audit events of the audited ones.

    ``custom_key`` names the custom fields in error messages (``fields`` in a
    customer profile, ``customFields`` on a card).
    """
    events: list[AuditEvent | None] = []
    for kind, values, where in (
        ("custom", custom, custom_key),
        ("extended", extended, "extendedFields"),
    ):
        changes = apply_field_values(session, org_id, entity_type, entity_id, kind, values, where)
        events.extend(
            value_change(
                _FIELD_REFERENCE[(entity_type, kind)],
                change.definition.name,
                change.previous,
                change.current,
                psi=change.definition.psi,
                associate_entities=associate_entities,
            )
            for change in changes
            if change.definition.audit_trail
        )
    return events


def field_values_by_kind(
    session: Session, org_id: int, entity_type: str, entity_id: int, *, mask: bool = False
) -> dict[str, dict[str, str]]:
    """{"custom": {name: value}, "extended": {name: value}} of one customer or card;
    with ``mask``, the values of fields defined as PSI read as *****."""
    definitions = {d.id: d for d in OrgRepository(session).fields(org_id, entity_type)}
    out: dict[str, dict[str, str]] = {kind: {} for kind in v.FIELD_KINDS}
    for fv in FieldValueRepository(session).values(org_id, entity_type, entity_id):
        definition = definitions.get(fv.definition_id)
        if definition is not None:
            value = MASK if mask and definition.psi else fv.value
            out[definition.kind][definition.name] = value
    return out
