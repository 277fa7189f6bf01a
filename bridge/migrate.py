"""Alembic, driven from code: ``wadule-bridge db upgrade`` and the test suite use it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Stored as an attribute, not an option: ConfigParser would treat "%" in passwords specially.
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Create or migrate the schema to ``revision``."""
    from bridge.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def revision(database_url: str, message: str) -> None:
    """Autogenerate a migration from the models (for developers)."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True)
