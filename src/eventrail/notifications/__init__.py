"""Outbound notifications: ``/v3/webHooks``, the outbox written with each change, the
delivery workers and the delivery log (docs/notifications.md)."""
