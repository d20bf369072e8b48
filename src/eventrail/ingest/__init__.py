"""POST /webhooks/...: accept, persist durably, hand to processing."""
