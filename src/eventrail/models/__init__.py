"""Every table, one module each, re-exported here."""

from eventrail.models.audit_chain_head import AuditChainHead
from eventrail.models.audit_count import AuditCount
from eventrail.models.audit_entry import AuditEntry
from eventrail.models.audit_kind import AuditKind
from eventrail.models.audit_ref import AuditRef
from eventrail.models.base import Base
from eventrail.models.card import Card
from eventrail.models.card_series import CardSeries
from eventrail.models.comm_channel import CommChannel
from eventrail.models.config_version import ConfigVersion
from eventrail.models.customer import Customer
from eventrail.models.customer_identifier import CustomerIdentifier
from eventrail.models.event_definition import EventDefinition
from eventrail.models.event_log import EventLog
from eventrail.models.event_log_count import EventLogCount
from eventrail.models.event_record import EventRecord
from eventrail.models.event_replay import EventReplay
from eventrail.models.event_unique_key import EventUniqueKey
from eventrail.models.field_definition import FieldDefinition
from eventrail.models.field_value import FieldValue
from eventrail.models.group_member import GroupMember
from eventrail.models.ingest_request import IngestRequest
from eventrail.models.merge_request import MergeRequest
from eventrail.models.notification_delivery import NotificationDelivery
from eventrail.models.notification_webhook import NotificationWebhook
from eventrail.models.oauth_client import OAuthClient
from eventrail.models.org import Org
from eventrail.models.settings_change import SettingsChange
from eventrail.models.status_label import StatusLabel
from eventrail.models.store import Store
from eventrail.models.subscription import Subscription
from eventrail.models.till import Till
from eventrail.models.transformer_mapping import TransformerMapping
from eventrail.models.user_group import UserGroup
from eventrail.models.webhook import Webhook

__all__ = [
    "AuditChainHead",
    "AuditCount",
    "AuditEntry",
    "AuditKind",
    "AuditRef",
    "Base",
    "Card",
    "CardSeries",
    "CommChannel",
    "ConfigVersion",
    "Customer",
    "CustomerIdentifier",
    "EventDefinition",
    "EventLog",
    "EventLogCount",
    "EventRecord",
    "EventReplay",
    "EventUniqueKey",
    "FieldDefinition",
    "FieldValue",
    "GroupMember",
    "IngestRequest",
    "MergeRequest",
    "NotificationDelivery",
    "NotificationWebhook",
    "OAuthClient",
    "Org",
    "SettingsChange",
    "StatusLabel",
    "Store",
    "Subscription",
    "Till",
    "TransformerMapping",
    "UserGroup",
    "Webhook",
]
