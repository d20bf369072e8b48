"""Orgs, connected orgs, org settings, field definitions, labels, card series, groups."""
