"""Every table, one module each, re-exported here."""

from eventrail.models.audit_entry import AuditEntry
from eventrail.models.audit_ref import AuditRef
from eventrail.models.base import Base
from eventrail.models.card import Card
from eventrail.models.card_series import CardSeries
from eventrail.models.comm_channel import CommChannel
from eventrail.models.customer import Customer
from eventrail.models.customer_identifier import CustomerIdentifier
from eventrail.models.field_definition import FieldDefinition
from eventrail.models.field_value import FieldValue
from eventrail.models.group_member import GroupMember
from eventrail.models.merge_request import MergeRequest
from eventrail.models.oauth_client import OAuthClient
from eventrail.models.org import Org
from eventrail.models.status_label import StatusLabel
from eventrail.models.store import Store
from eventrail.models.subscription import Subscription
from eventrail.models.till import Till
from eventrail.models.user_group import UserGroup

__all__ = [
    "AuditEntry",
    "AuditRef",
    "Base",
    "Card",
    "CardSeries",
    "CommChannel",
    "Customer",
    "CustomerIdentifier",
    "FieldDefinition",
    "FieldValue",
    "GroupMember",
    "MergeRequest",
    "OAuthClient",
    "Org",
    "StatusLabel",
    "Store",
    "Subscription",
    "Till",
    "UserGroup",
]
