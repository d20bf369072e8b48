"""Org configuration (eventrail's own; Capillary does this in its admin UI)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import Field

from eventrail.deps import ADMIN_ONLY, AdminCaller, CurrentCaller, RequestId, Session
from eventrail.kit.schemas import QUERY_INT
from eventrail.models import (
    CardSeries,
    FieldDefinition,
    Org,
    SettingsChange,
    StatusLabel,
    UserGroup,
)
from eventrail.orgs import service
from eventrail.orgs import vocabulary as v
from eventrail.orgs.schemas import (
    FieldCreate,
    FieldCreated,
    FieldList,
    FieldOut,
    GroupCreate,
    GroupCreated,
    GroupList,
    GroupMembersUpdate,
    GroupOut,
    LabelCreate,
    LabelCreated,
    LabelList,
    LabelOut,
    OrgSettings,
    OrgSettingsUpdate,
    SeriesCreate,
    SeriesCreated,
    SeriesList,
    SeriesOut,
    SettingsChangeOut,
    SettingsHistory,
)

# Reads are open to every till and client of the org; every write (and the
# settings history) needs the admin permission (AdminCaller, docs/security.md).
router = APIRouter(prefix="/v2/orgs/settings", tags=["org settings"])


def _settings(org: Org) -> OrgSettings:
    return OrgSettings(
        org_id=org.id,
        name=org.name,
        timezone=org.timezone,
        parent_org_id=org.parent_org_id if org.parent_org_id is not None else -1,
        psi_masking_enabled=org.psi_masking_enabled,
        rate_limit_per_minute=org.rate_limit_per_minute,
    )


def _label(label: StatusLabel) -> LabelOut:
    return LabelOut(
        label_id=label.id, status=label.status, label=label.label, is_default=label.is_default
    )


def _series(series: CardSeries) -> SeriesOut:
    return SeriesOut(series_id=series.id, name=series.name, code=series.code)


def _field(field: FieldDefinition) -> FieldOut:
    return FieldOut(
        field_id=field.id,
        entity_type=field.entity_type,
        kind=field.kind,
        name=field.name,
        data_type=field.data_type,
        audit_trail=field.audit_trail,
        psi=field.psi,
    )


def _group(group: UserGroup, members: list[int]) -> GroupOut:
    return GroupOut(
        group_id=group.id, external_id=group.external_id, name=group.name, members=members
    )


@router.get("", response_model=OrgSettings, summary="The caller's org settings")
def get_settings(caller: CurrentCaller, session: Session) -> OrgSettings:
    return _settings(service.get_org(session, caller.org_id))


def _change(change: SettingsChange) -> SettingsChangeOut:
    return SettingsChangeOut.model_validate(
        {
            "id": change.id,
            "requestId": change.request_id,
            "changedAt": change.changed_at,
            "till": {"id": change.till_id, "code": change.till_code},
            "clientId": change.client_id,
            "before": change.before,
            "after": change.after,
        }
    )


@router.put(
    "",
    response_model=OrgSettings,
    summary="Change timezone, PSI masking, rate limit (admin)",
    responses=ADMIN_ONLY,
)
def put_settings(
    body: OrgSettingsUpdate, caller: AdminCaller, session: Session, request_id: RequestId
) -> OrgSettings:
    return _settings(service.update_settings(session, caller, request_id, body))


@router.get(
    "/history",
    response_model=SettingsHistory,
    summary="Who changed the org settings, when, from what to what; newest first (admin)",
    responses=ADMIN_ONLY,
)
def settings_history(
    caller: AdminCaller,
    session: Session,
    limit: Annotated[
        int, Field(ge=1, le=100), QUERY_INT, Query(description="Changes per page")
    ] = 50,
    offset: Annotated[
        int, Field(ge=0, le=10_000_000), QUERY_INT, Query(description="Changes to skip")
    ] = 0,
) -> SettingsHistory:
    changes = service.settings_history(session, caller.org_id, limit=limit, offset=offset)
    return SettingsHistory(data=[_change(change) for change in changes])


@router.get("/customerStatusLabels", response_model=LabelList)
def list_customer_labels(caller: CurrentCaller, session: Session) -> LabelList:
    labels = service.list_labels(session, caller.org_id, v.CUSTOMER)
    return LabelList(data=[_label(label) for label in labels])


@router.post("/customerStatusLabels", response_model=LabelCreated, responses=ADMIN_ONLY)
def add_customer_label(body: LabelCreate, caller: AdminCaller, session: Session) -> LabelCreated:
    return LabelCreated(label_id=service.add_label(session, caller.org_id, v.CUSTOMER, body).id)


@router.get("/cardStatusLabels", response_model=LabelList)
def list_card_labels(caller: CurrentCaller, session: Session) -> LabelList:
    labels = service.list_labels(session, caller.org_id, v.CARD)
    return LabelList(data=[_label(label) for label in labels])


@router.post("/cardStatusLabels", response_model=LabelCreated, responses=ADMIN_ONLY)
def add_card_label(body: LabelCreate, caller: AdminCaller, session: Session) -> LabelCreated:
    return LabelCreated(label_id=service.add_label(session, caller.org_id, v.CARD, body).id)


@router.get("/cardSeries", response_model=SeriesList)
def list_series(caller: CurrentCaller, session: Session) -> SeriesList:
    return SeriesList(data=[_series(s) for s in service.list_series(session, caller.org_id)])


@router.post("/cardSeries", response_model=SeriesCreated, responses=ADMIN_ONLY)
def add_series(body: SeriesCreate, caller: AdminCaller, session: Session) -> SeriesCreated:
    return SeriesCreated(series_id=service.add_series(session, caller.org_id, body).id)


@router.get("/fields", response_model=FieldList)
def list_fields(caller: CurrentCaller, session: Session) -> FieldList:
    return FieldList(data=[_field(f) for f in service.list_fields(session, caller.org_id)])


@router.post("/fields", response_model=FieldCreated, responses=ADMIN_ONLY)
def add_field(body: FieldCreate, caller: AdminCaller, session: Session) -> FieldCreated:
    return FieldCreated(field_id=service.add_field(session, caller.org_id, body).id)


@router.get("/groups", response_model=GroupList)
def list_groups(caller: CurrentCaller, session: Session) -> GroupList:
    groups = service.list_groups(session, caller.org_id)
    return GroupList(data=[_group(group, members) for group, members in groups])


@router.post("/groups", response_model=GroupCreated, responses=ADMIN_ONLY)
def add_group(body: GroupCreate, caller: AdminCaller, session: Session) -> GroupCreated:
    return GroupCreated(group_id=service.add_group(session, caller.org_id, body).id)


@router.put("/groups/{externalId}/members", response_model=GroupOut, responses=ADMIN_ONLY)
def update_group_members(
    body: GroupMembersUpdate,
    caller: AdminCaller,
    session: Session,
    external_id: str = Path(alias="externalId", max_length=100),
) -> GroupOut:
    group = service.update_group_members(session, caller.org_id, external_id, body)
    return _group(group, service.group_members(session, caller.org_id, group))
