"""The reference ingest endpoint: the least work any durable, queued ingest has to do.

``POST /ref`` does what ``POST /api/v1/complaints`` cannot avoid, and nothing else:

1. a cheap auth check (one header compared with a fixed token, no database lookup);
2. parse the JSON body and validate it with the same ``schemas.ComplaintCreateSchema``;
3. insert ONE row into a one-table schema, in its own transaction, through a pooled engine;
4. publish ONE Celery task by name to Redis;
5. answer 202 with a small JSON body.

Started by ``bench/ingest.py`` with the same gunicorn settings as ``wadule-bridge serve``::

    python -m gunicorn -k gthread --threads 4 -w 2 'bench.reference_app:create_app()'

Settings come from the same variables as the bridge (``BRIDGE_DATABASE_URL``,
``BRIDGE_BROKER_URL``) plus ``BENCH_REF_TOKEN``, the API key the clients send as
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping

from celery import Celery
from flask import Flask, request
from marshmallow import ValidationError
from sqlalchemy import BigInteger, Column, MetaData, Table, Text, create_engine
from sqlalchemy.dialects.postgresql import JSONB, insert

from schemas import ComplaintCreateSchema

NOOP_TASK = "bench.noop"
QUEUE = "bench_ref"

metadata = MetaData()
ref_complaints = Table(
    "ref_complaints",
    metadata,
    Column("id", BigInteger, primary_key=True),  # bigserial
    Column("wadule_id", Text, nullable=False, unique=True),
    Column("body", JSONB, nullable=False),
)


def create_schema(database_url: str) -> None:
    """Create the reference table (run once by the benchmark before gunicorn starts)."""
    engine = create_engine(database_url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()


def create_app(env: Mapping[str, str] | None = None) -> Flask:
    """The gunicorn application factory; settings from ``env`` (default: the environment)."""
    env = os.environ if env is None else env
    # Same pool size as bridge.db.make_engine, but no pre-ping: a minimum does not pay for it.
    engine = create_engine(env["BRIDGE_DATABASE_URL"], pool_size=10, max_overflow=20)
    celery = Celery("bench-ref", broker=env["BRIDGE_BROKER_URL"])
    celery.conf.update(
        task_default_queue=QUEUE,
        task_serializer="json",
        broker_connection_retry_on_startup=True,
    )
    expected = f"Bearer {env['BENCH_REF_TOKEN']}".encode()
    schema = ComplaintCreateSchema()
    app = Flask(__name__)

    @app.post("/ref")
    def ingest():
        if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected):
            return {"message": "unknown API key"}, 401
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return {"message": "malformed JSON body"}, 400
        try:
            data = schema.load(payload)
        except ValidationError as exc:
            return {"message": "invalid fields", "errors": exc.messages}, 422
        statement = (
            insert(ref_complaints)
            .values(wadule_id=data["wadule_id"], body=payload)
            .on_conflict_do_nothing(index_elements=["wadule_id"])
            .returning(ref_complaints.c.id)
        )
        with engine.begin() as conn:
            row_id = conn.scalar(statement)
        if row_id is None:
            return {"wadule_id": data["wadule_id"], "replay": True}, 200
        celery.send_task(NOOP_TASK, args=[row_id])
        return {"id": row_id, "wadule_id": data["wadule_id"]}, 202

    return app
