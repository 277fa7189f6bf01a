"""Serve the reference endpoint exactly as ``wadule-bridge serve`` serves the bridge.

Same gunicorn options, worker count default, logger, metrics folder and control socket, from
the one place that sets them (:func:`bridge.server.serve`); only the application differs::

    python bench/reference_server.py --bind 127.0.0.1:8001 [--workers N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench.*`` importable
    sys.path.insert(0, str(ROOT))

from bench import reference_app  # noqa: E402
from bridge.logs import configure_logging  # noqa: E402
from bridge.server import serve  # noqa: E402
from bridge.settings import Settings  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", required=True)
    parser.add_argument("--workers", type=int, default=None, help="default: serve's own")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    configure_logging(settings, process="api")
    serve(settings, bind=args.bind, workers=args.workers, factory=reference_app.create_app)


if __name__ == "__main__":
    main()
