"""Alembic environment: the URL comes from eventrail's settings (or the caller's config)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from eventrail.config import Settings
from eventrail.db import create_db_engine
from eventrail.models import Base

config = context.config
target_metadata = Base.metadata


def _include(obj: Any, _name: str | None, _type: str, reflected: bool, _other: Any) -> bool:
    """Objects of the models that exist on one dialect only (``info["only_on"]``, e.g.
    ``models.base.sqlite_org_key``) are compared on that dialect only."""
    only_on = None if reflected else getattr(obj, "info", {}).get("only_on")
    return only_on is None or only_on == context.get_bind().dialect.name


def _run(connection: Connection) -> None:
    context.configure(
        include_object=_include,
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("database_url")
    settings = Settings(database_url=url) if url else Settings()
    engine = create_db_engine(settings)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("eventrail migrations run online only: use `eventrail migrate`")
run_migrations_online()
