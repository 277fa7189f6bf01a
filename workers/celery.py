"""Worker entry point: ``celery -A workers.celery worker`` (``wadule-bridge worker`` uses it).

Logging is the bridge's (Celery's own set-up is replaced through ``setup_logging``), every task
logs with the id of the request that published it (its ``bridge_request_id`` header), and the
worker's processes count metrics in the folder of their process tree (bridge.metrics).
"""

import logging

from celery.signals import (
    celeryd_after_setup,
    setup_logging,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
)

from bridge import create_app, logs, metrics
from bridge.db import engine_of
from bridge.settings import Settings
from workers import broker_fixes, stopping, tasks  # noqa: F401  (tasks and the SIGTERM handler)

broker_fixes.install()

log = logging.getLogger(__name__)
settings = Settings.from_env()
# Multiprocess mode has to be on before prometheus-client is imported (by create_app); the
# worker's own folder is known only once Celery names the node (worker_init).
metrics.use_folder(settings)
flask_app = create_app(settings=settings)
celery_app = flask_app.extensions["celery"]


@setup_logging.connect
def _bridge_logging(**_kwargs) -> None:
    # Connected, so Celery leaves the root logger to us (worker and beat alike).
    role = logs.process_role()
    logs.configure_logging(settings, process=role if role != "cli" else "worker")


@celeryd_after_setup.connect
def _say_what_it_serves(sender=None, instance=None, **_kwargs) -> None:
    # In place of Celery's banner (the CLI starts it with --quiet).
    queues = sorted(instance.app.amqp.queues.consume_from) if instance is not None else []
    concurrency = getattr(instance, "concurrency", None)
    log.info("worker %s serves %s with %s pool processes", sender, ", ".join(queues), concurrency)


@worker_init.connect
def _own_metrics_folder(sender=None, **_kwargs) -> None:
    # The main process, before the pool forks: the pool processes inherit the folder.
    name = getattr(sender, "hostname", None) or metrics.tree_name("worker")
    metrics.use_folder(settings, name, empty=True)


@worker_process_init.connect
def _fresh_connections_after_fork(**_kwargs) -> None:
    # Pooled connections must not be shared between the parent and forked pool processes.
    engine_of(flask_app).dispose(close=False)


@worker_process_shutdown.connect
def _process_ended(pid=None, **_kwargs) -> None:
    if pid is not None:
        metrics.process_ended(pid)


_tokens: dict[str, object] = {}


@task_prerun.connect
def _request_id_from_headers(task_id=None, task=None, **_kwargs) -> None:
    given = getattr(task.request, logs.TASK_HEADER, None) if task is not None else None
    _tokens[task_id] = logs.set_request_id(logs.valid_request_id(given))


@task_postrun.connect
def _request_id_done(task_id=None, **_kwargs) -> None:
    token = _tokens.pop(task_id, None)
    if token is not None:
        logs.reset_request_id(token)
