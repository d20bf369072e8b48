"""Tills, OAuth clients, and turning credentials into a Caller."""
