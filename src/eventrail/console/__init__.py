"""The support console at /console: server-rendered pages over the same services,
org scoping and PSI masking as the API (docs/console.md)."""
