"""Request and response shapes of the customer APIs (Capillary's v2 wire names)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from eventrail.kit.schemas import Id, Schema, SignedLong

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
