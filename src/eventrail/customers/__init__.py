"""Customers: profiles, identifiers, comm channels, fields, status, subscriptions, merges."""
