"""Alembic migrations shipped in the package, and the functions that run them.

`clamor db upgrade` and `clamor serve` call `upgrade()`; tests check that the models match the
migrations on SQLite and PostgreSQL.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from clamor.storage.base import Base

HERE = Path(__file__).parent


# Every module that defines tables. A new domain adds its models module here.
MODEL_MODULES: tuple[str, ...] = (
    "clamor.accounts.models",
    "clamor.audit.models",
    "clamor.org.models",
    "clamor.intake.models",
    "clamor.queue.models",
    "clamor.monitoring.models",
    "clamor.notify.models",
    "clamor.notify.tables",
    "clamor.workflow.complaints.models",
    "clamor.workflow.incidents.models",
    "clamor.resources.models",
    "clamor.reports.models",
    "clamor.worker.models",
    "clamor.storage.ratelimit",
)


def load_all_models() -> type[Base]:
    """Import every domain's models so that Base.metadata knows all tables."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    # "head", not "heads": a second head (two domains branching from one parent) must fail loudly.
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
