"""Behavioural events: definitions, webhooks, transformers."""
