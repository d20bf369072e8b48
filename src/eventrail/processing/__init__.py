"""Turning posted requests into log entries and stored events: the pipeline and processors."""
