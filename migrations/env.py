"""Alembic environment: the same migrations on SQLite (batch mode) and PostgreSQL, run async."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from loa.db.engine import create_engine
from loa.db.registry import metadata

config = context.config


def _include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # The search indexes (FTS5 tables on SQLite, a trigram index on PostgreSQL) are made by hand in the
    # migrations and have no model.
    if type_ == "table" and name is not None and name.startswith("account_search"):
        return False
    return not (type_ == "index" and name == "ix_accounts_search_trgm")


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=_include,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `./loa db upgrade`")
asyncio.run(_run_async())
