"""``wadule-bridge``: the one console script (contract section 1)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import click

from bridge.instance import INSTANCE, private_dir
from bridge.settings import Settings, SettingsError

DEFAULT_BIND = "127.0.0.1:8000"


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _app():
    from bridge import create_app

    return create_app(settings=_settings())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Wadule Bridge: forwards Wadule complaints to OPD channels and reports status back."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create or migrate the database schema (Alembic)."""
    from bridge.migrate import upgrade

    settings = _settings()
    try:
        upgrade(settings.database_url, revision)
    except Exception as exc:
        raise click.ClickException(
            f"cannot migrate the database ({type(exc).__name__}: {exc}); check BRIDGE_DATABASE_URL"
        ) from None
    click.echo(f"database at {revision}")


@db.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (developers)."""
    from bridge.migrate import revision

    revision(_settings().database_url, message)


@cli.group()
def directory() -> None:
    """The OPD directory."""


@directory.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
def directory_import(file: str) -> None:
    """Load the OPD directory from YAML: upsert by slug, deactivate OPDs not in the file."""
    from bridge.db import new_session
    from bridge.directory import DirectoryError, import_directory, load_directory_file

    app = _app()
    try:
        data = load_directory_file(file)
        with app.app_context(), new_session() as session:
            result = import_directory(session, data)
            session.commit()
    except DirectoryError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"directory imported: {result.summary()}")
    if result.deactivated:
        click.echo(f"deactivated: {', '.join(result.deactivated)}")


@cli.group("api-key")
def api_key() -> None:
    """API keys for Wadule, OPDs and operators."""


@api_key.command("create")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(["wadule", "opd", "operator"]))
@click.option("--opd", "opd_slug", default=None, help="the OPD slug (role opd only)")
def api_key_create(name: str, role: str, opd_slug: str | None) -> None:
    """Create a key; it is printed alone on the last line, once."""
    from bridge.auth import ApiKeyError, create_api_key
    from bridge.db import new_session

    app = _app()
    with app.app_context(), new_session() as session:
        try:
            key = create_api_key(session, name=name, role=role, opd_slug=opd_slug)
        except ApiKeyError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"created {role} key {name!r}; store it now, it is not shown again:")
    click.echo(key)


@api_key.command("revoke")
@click.argument("name")
def api_key_revoke(name: str) -> None:
    """Revoke a key at once."""
    from bridge.auth import ApiKeyError, revoke_api_key
    from bridge.db import new_session

    app = _app()
    with app.app_context(), new_session() as session:
        try:
            revoke_api_key(session, name)
        except ApiKeyError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"revoked {name!r}")


@api_key.command("list")
def api_key_list() -> None:
    """List keys: name, role, OPD, the key's first characters, when created or revoked."""
    from bridge.auth import list_api_keys
    from bridge.db import new_session

    app = _app()
    with app.app_context(), new_session() as session:
        keys = list_api_keys(session)
        rows = [
            (
                key.name,
                key.role,
                key.opd.slug if key.opd else "-",
                key.prefix + "...",
                _stamp(key.created_at),
                f"revoked {_stamp(key.revoked_at)}" if key.revoked_at else "active",
            )
            for key in keys
        ]
    _table(("name", "role", "opd", "key", "created", "status"), rows)


@cli.group()
def operator() -> None:
    """Operator accounts for the web console."""


@operator.command("create")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, required=True, help="read the password from stdin")
def operator_create(username: str, password_stdin: bool) -> None:
    """Create a console account; the password is read from standard input."""
    from bridge.db import new_session
    from bridge.operators import OperatorError, create_operator

    password = sys.stdin.readline().rstrip("\r\n")
    app = _app()
    with app.app_context(), new_session() as session:
        try:
            create_operator(session, username, password)
        except OperatorError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"operator {username!r} created")


@operator.command("list")
def operator_list() -> None:
    """List console accounts: username, active or disabled, created, last log-in."""
    from bridge.db import new_session
    from bridge.operators import list_operators

    app = _app()
    with app.app_context(), new_session() as session:
        rows = [
            (
                account.username,
                "active" if account.active else "disabled",
                _stamp(account.created_at),
                _stamp(account.last_login_at),
            )
            for account in list_operators(session)
        ]
    _table(("username", "status", "created", "last login"), rows)


@operator.command("disable")
@click.argument("username")
def operator_disable(username: str) -> None:
    """Disable an account: it cannot log in, and its open sessions end at once."""
    _set_operator_active(username, False)
    click.echo(f"operator {username!r} disabled; its sessions have ended")


@operator.command("enable")
@click.argument("username")
def operator_enable(username: str) -> None:
    """Enable a disabled account again."""
    _set_operator_active(username, True)
    click.echo(f"operator {username!r} enabled")


@operator.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, required=True, help="read the password from stdin")
def operator_reset_password(username: str, password_stdin: bool) -> None:
    """Set a new password (read from standard input); ends the account's sessions and lifts a
    log-in lock."""
    from bridge.db import new_session
    from bridge.operators import OperatorError, reset_password

    password = sys.stdin.readline().rstrip("\r\n")
    app = _app()
    with app.app_context(), new_session() as session:
        try:
            reset_password(session, username, password)
        except OperatorError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"password of {username!r} reset; its sessions have ended")


def _set_operator_active(username: str, active: bool) -> None:
    from bridge.db import new_session
    from bridge.operators import OperatorError, set_active

    app = _app()
    with app.app_context(), new_session() as session:
        try:
            set_active(session, username, active)
        except OperatorError as exc:
            raise click.ClickException(str(exc)) from None


def _stamp(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        click.echo(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )


@cli.group()
def callbacks() -> None:
    """Event pushes to Wadule."""


@callbacks.command("resume")
def callbacks_resume() -> None:
    """Push again after Wadule answered 410 Gone (fix the callback URL first)."""
    from bridge import callbacks as pusher

    app = _app()
    with app.app_context():
        reason = pusher.stopped_reason()
        pusher.resume()
    click.echo(
        f"callbacks resumed (were stopped: {reason})" if reason else "callbacks were running"
    )


@cli.command()
@click.option("--bind", default=DEFAULT_BIND, show_default=True)
@click.option("--workers", type=int, default=None, help="gunicorn worker processes")
def serve(bind: str, workers: int | None) -> None:
    """The HTTP API and console (gunicorn)."""
    from bridge.server import serve as run_gunicorn

    settings = _settings()
    run_gunicorn(settings, bind=bind, workers=workers)


@cli.command()
@click.option(
    "--concurrency", "-c", type=int, default=None, help="pool processes (default: 2 x CPU cores)"
)
def worker(concurrency: int | None) -> None:
    """A Celery worker with the project's queues and reliability settings."""
    _settings()
    from bridge.queue import QUEUE
    from workers.celery import celery_app

    # Real providers take 0.2-1 s per call, so twice as many processes as cores keeps the cores
    # busy while calls wait. With a fake that answers at once (bench/delivery.py, 2 cores,
    # batches of 10) the pool size hardly matters: 2 -> 235/s, 4 -> 234/s, 8 -> 218/s.
    concurrency = concurrency or 2 * (os.cpu_count() or 1)
    argv = [
        "worker",
        "--loglevel=INFO",
        "-Q",
        QUEUE,
        "--without-gossip",
        "--without-mingle",
        f"--concurrency={concurrency}",
    ]
    celery_app.worker_main(argv=argv)


@cli.command()
def beat() -> None:
    """The scheduler: the outbox sweeper and other periodic work."""
    _settings()
    from workers.celery import celery_app

    private_dir(INSTANCE)
    celery_app.start(argv=["beat", "--loglevel=INFO"])


@cli.command()
@click.option("--bind", default=DEFAULT_BIND, show_default=True)
def run(bind: str) -> None:
    """serve + worker + beat in one foreground process group; Ctrl-C stops all."""
    _settings()
    base = [sys.executable, "-m", "bridge.cli"]
    commands = {
        "serve": [*base, "serve", "--bind", bind],
        "worker": [*base, "worker", "--concurrency", "2"],
        "beat": [*base, "beat"],
    }
    children = {name: subprocess.Popen(argv) for name, argv in commands.items()}
    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    try:
        while not stopping:
            for name, child in children.items():
                code = child.poll()
                if code is not None:
                    click.echo(f"{name} exited with {code}; stopping the others", err=True)
                    exit_code = code or 1
                    stopping = True
                    break
            time.sleep(0.2)
    finally:
        _stop_children(children)
    sys.exit(exit_code)


def _stop_children(children: dict[str, subprocess.Popen]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    cli(prog_name="wadule-bridge")


if __name__ == "__main__":
    main()
