"""Alembic environment: run with the connection QueueStore.migrate() passes in."""

from __future__ import annotations

from alembic import context

from server.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only QueueStore.migrate() runs migrations
    raise RuntimeError("run migrations through QueueStore.migrate()")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
