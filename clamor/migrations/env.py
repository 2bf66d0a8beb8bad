"""Alembic environment: runs on the engine handed over in `config.attributes`."""

from __future__ import annotations

from alembic import context

from clamor.migrations import load_all_models

config = context.config
target_metadata = load_all_models().metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things in place: batch mode copies the table.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
