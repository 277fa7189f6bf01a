"""gunicorn, started from code so ``wadule-bridge serve`` reads the same settings.

Its logs are the bridge's (:mod:`bridge.logs`): gunicorn's error and access loggers hand their
records to the handler ``wadule-bridge`` installed, so they have the same format, and the access
line carries the request's id. Its worker processes count metrics in files
(:mod:`bridge.metrics`) in the folder of this server's process tree, emptied when it starts.
"""

from __future__ import annotations

import logging
import multiprocessing
import re
from collections.abc import Callable

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from bridge import metrics
from bridge.instance import INSTANCE, private_dir
from bridge.logs import request_id_scope

log = logging.getLogger(__name__)
#: Longest path a Unix socket may have (108 bytes with the terminating NUL on Linux).
MAX_SOCKET_PATH = 107


class BridgeServer(BaseApplication):
    def __init__(self, settings, options: dict, factory: Callable | None = None):
        self.settings = settings
        self.options = options
        self.factory = factory
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)
        # GUNICORN_CMD_ARGS still lets operators tune anything else.
        args = self.cfg.get_cmd_args_from_env()
        if args:
            parser = self.cfg.parser()
            parsed = parser.parse_args(args)
            for key, value in vars(parsed).items():
                if value is not None and key in self.cfg.settings:
                    self.cfg.set(key.lower(), value)

    def load(self):
        if self.factory is not None:
            return self.factory()
        from bridge import create_app

        return create_app(settings=self.settings)


class GunicornLogger(Logger):
    """gunicorn's logger, writing through the bridge's log handler in the bridge's format."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in [h for h in log.handlers if getattr(h, "_gunicorn", False)]:
                log.removeHandler(handler)
            log.propagate = True

    def access(self, resp, req, environ, request_time) -> None:
        # gunicorn logs the access after the app has returned: the id comes from the request.
        with request_id_scope(environ.get("bridge.request_id")):
            super().access(resp, req, environ, request_time)


def _child_exit(_server, worker) -> None:
    metrics.process_ended(worker.pid)


def tree(bind: str) -> str:
    """The metrics folder (and ``process`` label) of the server on ``bind``: ``api-8000@host``."""
    port = bind.rsplit(":", 1)[-1]
    name = port if port.isdigit() else re.sub(r"[^A-Za-z0-9.]+", "-", bind).strip("-")
    return metrics.tree_name(f"api-{name}")


def control_socket(bind: str) -> str | None:
    """The path of gunicorn's control socket for the server on ``bind``, or None if too long.

    gunicorn's default is one path per user ($XDG_RUNTIME_DIR/gunicorn.ctl or
    ~/.gunicorn/gunicorn.ctl): every instance of that user took it over, and stopping any one
    removed it for the others. Each instance gets its own, in its instance folder, named after
    its address (two servers of one folder listen on different ones).
    """
    name = re.sub(r"[^A-Za-z0-9.]+", "-", bind).strip("-")
    path = (private_dir(INSTANCE) / f"gunicorn-{name}.ctl").resolve()
    return str(path) if len(str(path).encode()) <= MAX_SOCKET_PATH else None


#: Threads per gunicorn worker: requests wait on PostgreSQL and Redis about half their time.
THREADS = 4


def default_workers(database_url: str, cores: int | None = None) -> int:
    """gunicorn worker processes when ``--workers`` is not given.

    SQLite takes one writer at a time: one process. On PostgreSQL, one per core: requests are
    CPU-bound in Python between their database round trips, four threads per process cover
    those waits, and the box's cores are shared with PostgreSQL, Redis and the Celery workers.
    Measured with ``bench/ingest.py`` on 2 cores (see bench/README.md): 2 workers served more
    complaints per second than 3 or 5, each process adding its own connection pool, statement
    caches and context switches.
    """
    if database_url.startswith("sqlite"):
        return 1
    return max(1, min(cores or multiprocessing.cpu_count(), 8))


def serve(
    settings, *, bind: str, workers: int | None = None, factory: Callable | None = None
) -> None:
    """Run gunicorn on ``bind`` until it is stopped.

    ``factory`` replaces the bridge's app (``bench/ingest.py`` serves its reference endpoint
    this way, so both run with exactly these options).
    """
    options = {
        "bind": bind,
        "workers": workers or default_workers(settings.database_url),
        "worker_class": "gthread",
        "threads": THREADS,
        "timeout": 30,
        "graceful_timeout": 20,
        "accesslog": "-",
        # No query strings or bodies in access logs: only method, path, status, size, time.
        "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms',
        "logger_class": GunicornLogger,
        "child_exit": _child_exit,
        "preload_app": False,
    }
    # Before any worker imports prometheus-client (see bridge.metrics).
    metrics.use_folder(settings, tree(bind), empty=True)
    socket_path = control_socket(bind)
    if socket_path is None:
        log.warning("gunicorn control socket disabled: the instance folder's path is too long")
        options["control_socket_disable"] = True
    else:
        options["control_socket"] = socket_path
    BridgeServer(settings, options, factory).run()
