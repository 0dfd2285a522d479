"""Alembic's environment for hunter-alembic: online migrations only, against DATABASE_URL."""
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url == "":
        raise SystemExit("DATABASE_URL is not set: the migration needs the app's database URL")
    # SQLAlchemy 1.4 knows the dialect as "postgresql", not libpq's "postgres" alias.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    return url


def run_migrations_online() -> None:
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        # One transaction per revision, as Rewind's sql steps: a failing revision rolls back
        # alone and the database stays at the last one that succeeded, which alembic_version
        # names.
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not set up for this project")
run_migrations_online()
