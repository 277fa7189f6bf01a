"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from bridge.db import engine_of
from bridge.migrate import upgrade
from bridge.models import Base, utcnow
from bridge.outbox.claim import oldest_due
from bridge.statuses import Lane


def differences(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def test_postgresql_schema_matches_the_models(app):
    assert differences(engine_of(app)) == []


def test_sqlite_schema_matches_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'bridge.db'}"
    upgrade(url)
    engine = create_engine(url)
    try:
        assert differences(engine) == []
        claimable = {i["name"]: i for i in inspect(engine).get_indexes("deliveries")}
        assert claimable["ix_deliveries_claimable"]["column_names"] == [
            "lane",
            "next_attempt_at",
            "id",
        ]
    finally:
        engine.dispose()


def test_workers_take_due_rows_through_the_claimable_index(app):
    engine = engine_of(app)
    statement = oldest_due(utcnow(), Lane.PRIVATE, 10, besides=[1, 2])
    # As executed, the statuses are literals (a bound parameter could not prove the index's
    # condition)...
    executed = str(statement.compile(engine, compile_kwargs={"render_postcompile": True}))
    assert "deliveries.status IN ('pending', 'retrying')" in executed, executed
    # ...and PostgreSQL then reads the rows in order from the partial index.
    sql = statement.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))
    assert "ix_deliveries_claimable" in plan, plan
    assert "Sort" not in plan, plan
