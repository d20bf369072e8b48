from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from eventrail.kit.schemas import Id, Schema, StrictSchema

# Whole days, 1 to 100 years; strict: a string or a boolean is refused, not converted.
RetentionDays = Annotated[int, Field(strict=True, ge=1, le=36_500)]


class Retention(Schema):
    event_logs_days: int = Field(
        alias="eventLogsDays",
        description="Days the processing log is kept (with the bodies of refused, invalid "
        "and set-aside requests), and the finished notification deliveries",
    )
    event_data_days: int = Field(
        alias="eventDataDays", description="Days stored events (and their unique keys) are kept"
    )
    audit_days: int | None = Field(
        alias="auditDays", description="Days the audit trail is kept; null: kept for ever"
    )


class RetentionUpdate(StrictSchema):
    """Days from 1 to 36500; null puts a value back to the server's default (for
    ``auditDays``: the audit trail is kept for ever)."""

    event_logs_days: RetentionDays | None = Field(default=None, alias="eventLogsDays")
    event_data_days: RetentionDays | None = Field(default=None, alias="eventDataDays")
    audit_days: RetentionDays | None = Field(default=None, alias="auditDays")


class RetentionValues(Schema):
    """The org's own retention settings; null: the server's default (auditDays: for ever)."""

    event_logs_days: int | None = Field(default=None, alias="eventLogsDays")
    event_data_days: int | None = Field(default=None, alias="eventDataDays")
    audit_days: int | None = Field(default=None, alias="auditDays")


class OrgSettings(Schema):
    org_id: int = Field(alias="orgId")
    name: str
    timezone: str = Field(description="IANA timezone of the org")
    parent_org_id: int = Field(alias="parentOrgId", description="-1 when not a child org")
    psi_masking_enabled: bool = Field(alias="psiMaskingEnabled")
    rate_limit_per_minute: int = Field(alias="rateLimitPerMinute")
    retention: Retention = Field(description="The retention in force (the org's or the default)")
    warnings: list[object] = Field(default_factory=list)


class OrgSettingsUpdate(StrictSchema):
    timezone: str | None = Field(default=None, max_length=64, description="IANA timezone")
    psi_masking_enabled: bool | None = Field(default=None, alias="psiMaskingEnabled")
    rate_limit_per_minute: int | None = Field(
        default=None, alias="rateLimitPerMinute", ge=1, le=1_000_000
    )
    retention: RetentionUpdate | None = None


class SettingsValues(Schema):
    timezone: str = Field(description="IANA timezone of the org")
    psi_masking_enabled: bool = Field(alias="psiMaskingEnabled")
    rate_limit_per_minute: int = Field(alias="rateLimitPerMinute")
    retention: RetentionValues | None = Field(
        default=None, description="Absent in changes recorded before retention existed"
    )


class SettingsChangeTill(Schema):
    id: int = Field(description="The till the change is attributed to")
    code: str


class SettingsChangeOut(Schema):
    id: int
    request_id: str = Field(alias="requestId", description="X-Cap-Requestid of the change")
    changed_at: int = Field(alias="changedAt", description="Epoch milliseconds")
    till: SettingsChangeTill
    client_id: int | None = Field(
        alias="clientId", description="The OAuth client, when the change was made with a token"
    )
    before: SettingsValues
    after: SettingsValues


class SettingsHistory(Schema):
    data: list[SettingsChangeOut]
    warnings: list[object] = Field(default_factory=list)
    errors: list[object] = Field(default_factory=list)


class LabelCreate(StrictSchema):
    status: str = Field(min_length=1, max_length=32, description="System status the label maps to")
    label: str = Field(min_length=1, max_length=100, description="The org's name for it")


class LabelCreated(Schema):
    label_id: int = Field(alias="labelId")
    warnings: list[object] = Field(default_factory=list)


class LabelOut(Schema):
    label_id: int = Field(alias="labelId")
    status: str
    label: str
    is_default: bool = Field(alias="isDefault")


class LabelList(Schema):
    data: list[LabelOut]
    warnings: list[object] = Field(default_factory=list)
    errors: list[object] = Field(default_factory=list)


class SeriesCreate(StrictSchema):
    name: str = Field(min_length=1, max_length=200)
    code: str = Field(min_length=1, max_length=100)


class SeriesCreated(Schema):
    series_id: int = Field(alias="seriesId")
    warnings: list[object] = Field(default_factory=list)


class SeriesOut(Schema):
    series_id: int = Field(alias="seriesId")
    name: str
    code: str


class SeriesList(Schema):
    data: list[SeriesOut]
    warnings: list[object] = Field(default_factory=list)
    errors: list[object] = Field(default_factory=list)


class FieldCreate(StrictSchema):
    entity_type: Literal["CUSTOMER", "CARD"] = Field(alias="entityType")
    kind: Literal["custom", "extended"]
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$")
    data_type: Literal["string", "integer", "double", "boolean", "date"] = Field(
        default="string", alias="dataType"
    )
    audit_trail: bool = Field(default=False, alias="auditTrail")
    psi: bool = False


class FieldCreated(Schema):
    field_id: int = Field(alias="fieldId")
    warnings: list[object] = Field(default_factory=list)


class FieldOut(Schema):
    field_id: int = Field(alias="fieldId")
    entity_type: str = Field(alias="entityType")
    kind: str
    name: str
    data_type: str = Field(alias="dataType")
    audit_trail: bool = Field(alias="auditTrail")
    psi: bool


class FieldList(Schema):
    data: list[FieldOut]
    warnings: list[object] = Field(default_factory=list)
    errors: list[object] = Field(default_factory=list)


class GroupCreate(StrictSchema):
    external_id: str = Field(alias="externalId", min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    members: list[Id] = Field(default_factory=list, max_length=10_000)


class GroupCreated(Schema):
    group_id: int = Field(alias="groupId")
    warnings: list[object] = Field(default_factory=list)


class GroupMembersUpdate(StrictSchema):
    add: list[Id] = Field(default_factory=list, max_length=10_000)
    remove: list[Id] = Field(default_factory=list, max_length=10_000)


class GroupOut(Schema):
    group_id: int = Field(alias="groupId")
    external_id: str = Field(alias="externalId")
    name: str
    members: list[int]
    warnings: list[object] = Field(default_factory=list)


class GroupList(Schema):
    data: list[GroupOut]
    warnings: list[object] = Field(default_factory=list)
    errors: list[object] = Field(default_factory=list)
