"""Worker entry point: ``celery -A workers.celery worker`` (``wadule-bridge worker`` uses it)."""

from celery.signals import worker_process_init

from bridge import create_app
from bridge.db import engine_of
from workers import stopping, tasks  # noqa: F401  (register the tasks and the SIGTERM handler)

flask_app = create_app()
celery_app = flask_app.extensions["celery"]


@worker_process_init.connect
def _fresh_connections_after_fork(**_kwargs) -> None:
    # Pooled connections must not be shared between the parent and forked pool processes.
    engine_of(flask_app).dispose(close=False)
