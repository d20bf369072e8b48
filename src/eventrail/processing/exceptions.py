"""Errors of the log and event reads, with Capillary's codes."""

from __future__ import annotations

from eventrail.errors import BadRequest


class InvalidSearchParameter(BadRequest):
    """GET /v2/events/search: a parameter refused (the message names it)."""

    code = 1850
