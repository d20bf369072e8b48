"""Liveness and readiness for operators and load balancers (no org, no credentials)."""
