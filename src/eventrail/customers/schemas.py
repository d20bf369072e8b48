"""Request and response shapes of the customer APIs (Capillary's v2 wire names)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from eventrail.kit.schemas import Id, Omitted, Schema, SignedLong, omitted

_MAX_ITEMS = 50


class IdentifierIn(Schema):
    type: str = Field(min_length=1, max_length=40, description="mobile, email, externalId, ...")
    value: str = Field(min_length=1, max_length=255)
    series_id: Id | None = Field(default=None, alias="seriesId", description="Card series")
    series_code: str | None = Field(default=None, alias="seriesCode", max_length=100)
    status_label: str | None = Field(default=None, alias="statusLabel", max_length=100)


class CommChannelIn(Schema):
    type: str = Field(min_length=1, max_length=40, description="mobile, email, ios, android, ...")
    value: str = Field(min_length=1, max_length=4000)
    primary: bool = False
    verified: bool = False
    subscribed: bool | None = None
    meta: dict[str, Any] | None = None


class ProfileIn(Schema):
    first_name: str | None = Field(default=None, alias="firstName", max_length=1000)
    last_name: str | None = Field(default=None, alias="lastName", max_length=1000)
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=_MAX_ITEMS)
    comm_channels: list[CommChannelIn] = Field(
        default_factory=list, alias="commChannels", max_length=_MAX_ITEMS
    )
    fields: dict[str, Any] = Field(default_factory=dict, description="Custom fields")
    source: str | None = Field(default=None, max_length=40)
    account_id: str | None = Field(default=None, alias="accountId", max_length=100)


class LoyaltyInfoIn(Schema):
    loyalty_type: Literal["loyalty", "non_loyalty"] | None = Field(
        default=None, alias="loyaltyType"
    )


class CustomerCreate(Schema):
    profiles: list[ProfileIn] = Field(min_length=1, max_length=10)
    extended_fields: dict[str, Any] = Field(default_factory=dict, alias="extendedFields")
    loyalty_info: LoyaltyInfoIn | None = Field(default=None, alias="loyaltyInfo")
    status_label: str | None = Field(default=None, alias="statusLabel", max_length=100)


class CustomerUpdate(Schema):
    profiles: list[ProfileIn] = Field(default_factory=list, max_length=10)
    extended_fields: dict[str, Any] = Field(default_factory=dict, alias="extendedFields")
    loyalty_info: LoyaltyInfoIn | None = Field(default=None, alias="loyaltyInfo")


class StatusUpdate(Schema):
    reason: str = Field(min_length=1, max_length=1000)
    label: str = Field(min_length=1, max_length=100, description="An org customer status label")
    created_on: str | None = Field(default=None, alias="createdOn", max_length=64)


class IdentifierChange(Schema):
    add: list[IdentifierIn] = Field(default_factory=list, max_length=_MAX_ITEMS)
    remove: list[IdentifierIn] = Field(default_factory=list, max_length=_MAX_ITEMS)


class SubscriptionIn(Schema):
    channel: str = Field(min_length=1, max_length=20)
    priority: str = Field(min_length=1, max_length=10)
    type: str = Field(min_length=1, max_length=10, description="OPTIN or OPTOUT")
    account_id: str | None = Field(default=None, alias="accountId", max_length=100)
    org_unit_id: SignedLong | None = Field(default=None, alias="orgUnitId")
    source_name: str | None = Field(default=None, alias="sourceName", max_length=40)


class SubscriptionScope(Schema):
    scope: str = "USER"
    sub_scope: str = Field(default="NONE", alias="subScope")


class SubscriptionsUpdate(Schema):
    communication_id: SignedLong = Field(default=-1, alias="communicationId")
    campaign_id: SignedLong = Field(default=-1, alias="campaignId")
    reason: str | None = Field(default=None, max_length=1000)
    scope: SubscriptionScope = Field(default_factory=SubscriptionScope)
    subscriptions: list[SubscriptionIn] = Field(min_length=1, max_length=_MAX_ITEMS)


class IdOnly(Schema):
    type: str = Field(max_length=20)
    value: str = Field(max_length=40)


class ChangeIdentifiers(Schema):
    add: list[IdOnly] = Field(default_factory=list, max_length=5)
    remove: list[IdOnly] = Field(default_factory=list, max_length=5)


class CustomerRef(Schema):
    id: Id


class MergeRequestCreate(Schema):
    type: str = Field(max_length=40, description="CHANGE_IDENTIFIER")
    base_type: str = Field(alias="baseType", max_length=40, description="MERGE")
    customer: CustomerRef | None = Field(default=None, description="The victim")
    user_id: Id | None = Field(default=None, alias="userId", description="The victim")
    change_identifiers: ChangeIdentifiers | None = Field(
        default=None,
        alias="changeIdentifiers",
        description='add: [{"type":"id","value":<survivor>}], remove: [{"type":"id",...victim}]',
    )
    comments: str | None = Field(default=None, max_length=1000)


class MergeRequestDecision(Schema):
    type: str = Field(max_length=40)
    base_type: str = Field(alias="baseType", max_length=40)
    id: Id
    status: Literal["APPROVED", "REJECTED"]
    comments: str | None = Field(default=None, max_length=1000)


class Created(Schema):
    created_id: int = Field(alias="createdId")
    warnings: list[dict[str, Any]] = Field(default_factory=list)


class CreatedWithSideEffects(Created):
    side_effects: list[dict[str, Any]] = Field(default_factory=list, alias="sideEffects")


class Entity(Schema):
    entity: int
    warnings: list[dict[str, Any]] = Field(default_factory=list)


# -- answers documented, built by service.customer_view and merge.* ----------------
class IdentifierOut(Schema):
    type: str
    value: str = Field(description="***** for a PSI identifier when the caller may not see it")
    series_id: int | Omitted = omitted("A card number's series", "seriesId")
    status_label: str | Omitted = omitted("A card number's status label", "statusLabel")


class CommChannelOut(Schema):
    type: str
    value: str
    primary: bool
    verified: bool
    subscribed: bool
    meta: dict[str, Any]


class ProfileOut(Schema):
    first_name: str | None = Field(alias="firstName")
    last_name: str | None = Field(alias="lastName")
    fields: dict[str, Any] = Field(description="Custom fields")
    identifiers: list[IdentifierOut]
    comm_channels: list[CommChannelOut] = Field(alias="commChannels")
    source: str
    account_id: str = Field(alias="accountId")
    user_id: int = Field(alias="userId")


class LoyaltyInfoOut(Schema):
    loyalty_type: str = Field(alias="loyaltyType")


class CustomerStatusOut(Schema):
    status: str
    label: str
    label_id: int | None = Field(alias="labelId")


class CustomerOut(Schema):
    id: int
    profiles: list[ProfileOut] = Field(description="One per source and account")
    loyalty_info: LoyaltyInfoOut = Field(alias="loyaltyInfo")
    extended_fields: dict[str, Any] = Field(alias="extendedFields")
    status_label: str = Field(alias="statusLabel")
    status: CustomerStatusOut
    merged_into: int | None = Field(alias="mergedInto", description="The survivor of a merge")
    warnings: list[dict[str, Any]]


class SubscriptionsOut(SubscriptionsUpdate):
    """The update as applied, every key given."""

    warnings: list[object]


class DecisionOut(Schema):
    entity_id: int = Field(alias="entityId", description="The request's id")
    result: bool | Omitted = omitted("true: decided")
    warnings: list[object] | Omitted = omitted("With result")
    errors: list[dict[str, Any]] | Omitted = omitted("Why the request was not decided")


class DecisionsOut(Schema):
    response: list[DecisionOut] = Field(description="One per request, in order")
    total_count: int = Field(alias="totalCount")
    failure_count: int = Field(alias="failureCount")


class ChangeIdentifiersOut(Schema):
    add: list[IdOnly]
    remove: list[IdOnly]


class ChangeRequestOut(Schema):
    id: int
    user_id: int = Field(alias="userId", description="-1")
    request_id: int = Field(alias="requestId")
    change_type: str = Field(alias="changeType")
    change_status: str = Field(alias="changeStatus")
    change_identifiers: ChangeIdentifiersOut = Field(alias="changeIdentifiers")
    one_step: bool = Field(alias="oneStep")


class TillOut(Schema):
    """Capillary's till object; -1 where eventrail keeps no such id."""

    id: int
    code: str
    description: str
    name: str
    type: Literal["TILL"]
    reference_id: int = Field(alias="referenceId")
    admin_type: str = Field(alias="adminType")
    is_active: bool = Field(alias="isActive")
    is_ou_enabled: bool = Field(alias="isOuEnabled")
    time_zone_id: int = Field(alias="timeZoneId")
    currency_id: int = Field(alias="currencyId")
    language_id: int = Field(alias="languageId")
    default: bool


class AttributionOut(Schema):
    create_date: str = Field(alias="createDate", description="ISO 8601 in the org's timezone")
    created_by: TillOut | None = Field(alias="createdBy")
    modified_by: TillOut | None = Field(alias="modifiedBy")
    modified_date: str = Field(alias="modifiedDate", description="ISO 8601 in the org's timezone")


class MergeRequestOut(Schema):
    type: Literal["CHANGE_IDENTIFIER"]
    base_type: Literal["MERGE"] = Field(alias="baseType")
    status: str = Field(description="PENDING, APPROVED or REJECTED")
    attribution: AttributionOut
    id: int
    org_id: int = Field(alias="orgId")
    added_on: str = Field(alias="addedOn", description="ISO 8601 in the org's timezone")
    user_id: int = Field(alias="userId", description="The customer merged away")
    comments: str | None
    change_identifier_request: ChangeRequestOut = Field(alias="changeIdentifierRequest")
    one_step: bool = Field(alias="oneStep")
    warnings: list[object]
