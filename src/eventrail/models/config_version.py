from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.models.base import Base


class ConfigVersion(Base):
    """A counter per org of the changes to what processing an event reads: the org,
    its tills, webhooks, event definitions and transformer mappings.

    Kept by the database (triggers on those tables) in the transaction that makes
    the change, whoever makes it. The processors keep each org's configuration
    between batches and read it again only when this counter has moved
    (``processing/pipeline.ConfigCache``).
    """

    __tablename__ = "config_versions"

    org_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger)
