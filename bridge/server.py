"""gunicorn, started from code so ``wadule-bridge serve`` reads the same settings."""

from __future__ import annotations

import multiprocessing

from gunicorn.app.base import BaseApplication


class BridgeServer(BaseApplication):
    def __init__(self, settings, options: dict):
        self.settings = settings
        self.options = options
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
        from bridge import create_app

        return create_app(settings=self.settings)


def serve(settings, *, bind: str, workers: int | None = None) -> None:
    embedded = settings.database_url.startswith("sqlite")
    default_workers = 1 if embedded else min(2 * multiprocessing.cpu_count() + 1, 8)
    options = {
        "bind": bind,
        "workers": workers or default_workers,
        "worker_class": "gthread",
        "threads": 4,
        "timeout": 30,
        "graceful_timeout": 20,
        "accesslog": "-",
        # No query strings or bodies in access logs: only method, path, status, size, time.
        "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms',
        "preload_app": False,
    }
    BridgeServer(settings, options).run()
