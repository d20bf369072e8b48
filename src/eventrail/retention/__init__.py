"""Retention: deleting what an org's retention has expired, in small batches."""
