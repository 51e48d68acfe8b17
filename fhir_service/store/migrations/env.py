"""Alembic environment: run by ``fhir_service.store.migrate`` on a connection it gives
(``config.attributes["connection"]``); no alembic.ini, no URL of its own."""

from __future__ import annotations

from alembic import context

from fhir_service.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
