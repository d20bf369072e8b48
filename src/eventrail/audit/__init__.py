"""The audit trail: record() called by writers in their session; the audits read API."""
