from __future__ import annotations

from eventrail.errors import BadRequest, NotFound


class OrgNotFound(NotFound):
    code = 1064
    message = "Invalid org ID passed"


class AuditedFieldLimit(BadRequest):
    message = "Audit trail can be enabled for a maximum of 5 fields"


class SeriesExists(BadRequest):
    code = 3002
    message = "Series already exists."


class GroupNotFound(NotFound):
    message = "Group not found"
