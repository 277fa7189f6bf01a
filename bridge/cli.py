"""``wadule-bridge``: the one console script (contract section 1)."""

from __future__ import annotations

import os
import sys

import click

from bridge import __version__
from bridge.instance import INSTANCE, private_dir, private_umask
from bridge.logs import configure_logging, role_for
from bridge.settings import Settings, SettingsError, follow_bind
from bridge.supervisor import Supervisor

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
@click.version_option(__version__, "--version", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Wadule Bridge: forwards Wadule complaints to OPD channels and reports status back."""
    try:
        settings = Settings.from_env()
    except SettingsError:
        settings = None  # the command itself reports the bad setting
    configure_logging(settings, process=role_for(ctx.invoked_subcommand))


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
        data = load_directory_file(file, app.config["BRIDGE_SETTINGS"])
        with app.app_context(), new_session() as session:
            result = import_directory(session, data)
            session.commit()
    except DirectoryError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"directory imported: {result.summary()}")
    if result.deactivated:
        click.echo(f"deactivated: {', '.join(result.deactivated)}")


@directory.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def directory_validate(file: str) -> None:
    """Check a directory file without importing it; each problem names its place."""
    from bridge.directory import DirectoryError, load_directory_file

    try:
        data = load_directory_file(file, _settings())
    except DirectoryError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    channels = sum(len(opd["channels"]) for opd in data["opds"])
    click.echo(f"{file}: valid ({len(data['opds'])} OPDs, {channels} channels)")


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


@cli.group()
def channels() -> None:
    """The OPD channels."""


@channels.command("check")
@click.option("--opd", "opd_slug", default=None, help="check only this OPD's channels")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def channels_check(opd_slug: str | None, as_json: bool) -> None:
    """Ask each channel's provider whether it can be used; exit 1 when any is unusable."""
    import json

    from sqlalchemy.exc import SQLAlchemyError

    from bridge import checks

    app = _app()
    try:
        results = checks.run_checks(app, opd_slug)
    except checks.UnknownOpd as exc:
        raise click.UsageError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"cannot read the directory ({type(exc).__name__}); run `wadule-bridge db upgrade`"
            " and check BRIDGE_DATABASE_URL"
        ) from None
    if as_json:
        click.echo(json.dumps(checks.as_json(results), ensure_ascii=False, indent=2))
    else:
        click.echo(checks.format_table(results))
    if any(not result.usable for result in results):
        sys.exit(1)


@cli.group()
def report() -> None:
    """Reports."""


@report.command("weekly")
@click.option(
    "--week",
    default=None,
    metavar="YYYY-Www",
    help="the ISO week (WIB), e.g. 2026-W49; default: the last complete week",
)
@click.option("--send", is_flag=True, help="also send it to the leadership channels (once)")
@click.option(
    "--png",
    "png_path",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="write the chart (PNG) to this file",
)
def report_weekly(week: str | None, send: bool, png_path: str | None) -> None:
    """Print the weekly OPD report; --send also queues it to the leadership's WhatsApp group
    and Telegram channels, once per week and channel. Exits 1 when it cannot be sent."""
    from pathlib import Path

    from bridge import reports
    from bridge.db import new_session
    from bridge.worktime import parse_iso_week

    try:
        chosen = parse_iso_week(week) if week else reports.last_complete_week()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None
    app = _app()
    settings = app.config["BRIDGE_SETTINGS"]
    with app.app_context(), new_session() as db:
        try:
            rendered = reports.report_for(db, settings, chosen)
        except reports.WeekNotStarted as exc:
            raise click.BadParameter(str(exc), param_hint="--week") from None
        click.echo(rendered.text)
        if png_path:
            Path(png_path).write_bytes(rendered.png)
            click.echo(f"chart written to {png_path}", err=True)
        if not send:
            return
        try:
            queued = reports.queue_weekly(db, settings, chosen, rendered=rendered)
        except (reports.NoLeadership, reports.WeekNotOver) as exc:
            click.echo(f"not sent: {exc}", err=True)
            sys.exit(1)
    for kind, target in queued.created:
        click.echo(f"queued to {kind} {target}", err=True)
    for kind, target, status in queued.existing:
        click.echo(f"queued before to {kind} {target} ({status}); not queued again", err=True)


@cli.command()
@click.option("--bind", default=DEFAULT_BIND, show_default=True)
@click.option("--workers", type=int, default=None, help="gunicorn worker processes")
def serve(bind: str, workers: int | None) -> None:
    """The HTTP API and console (gunicorn). Without BRIDGE_PUBLIC_URL, links follow --bind."""
    from bridge.server import serve as run_gunicorn

    follow_bind(os.environ, bind)
    settings = _settings()
    private_umask()
    run_gunicorn(settings, bind=bind, workers=workers)


LANES = ("private", "public")


def _lane_concurrency(lane: str) -> int:
    # Real providers take 0.2-1 s per call, so more processes than cores keep the cores busy
    # while calls wait; within a batch, calls to different targets overlap in threads too.
    # Public posts are few (Facebook 1/min, Instagram 1/5 min per account): one per core.
    cores = os.cpu_count() or 1
    return 2 * cores if lane == "private" else max(1, cores)


@cli.command()
@click.option(
    "--lane",
    type=click.Choice([*LANES, "all"]),
    default="all",
    show_default=True,
    help="the queue to serve: private (WhatsApp, Telegram, webhooks, replies), public"
    " (Facebook, Instagram, X), or both in two pools",
)
@click.option(
    "--concurrency",
    "-c",
    type=int,
    default=None,
    help="pool processes (default: 2 x CPU cores for private, CPU cores for public)",
)
def worker(lane: str, concurrency: int | None) -> None:
    """A Celery worker with the project's queues and reliability settings.

    Without --lane, one pool per lane, so private deliveries never wait behind public posts.
    """
    _settings()
    private_umask()
    if lane == "all":
        argv = [sys.executable, "-m", "bridge.cli", "worker"]
        extra = ["--concurrency", str(concurrency)] if concurrency else []
        children = {f"worker-{name}": [*argv, "--lane", name, *extra] for name in LANES}
        sys.exit(Supervisor(children).run())
    from bridge.queue import QUEUES
    from bridge.statuses import Lane
    from workers.celery import celery_app

    code = celery_app.start(
        argv=[
            "--quiet",  # no banner: every line is a log line (workers.celery logs the set-up)
            "worker",
            "--loglevel=INFO",
            "-Q",
            QUEUES[Lane(lane)],
            "-n",
            f"{lane}@%h",
            "--without-gossip",
            "--without-mingle",
            f"--concurrency={concurrency or _lane_concurrency(lane)}",
        ]
    )
    # Celery keeps its exit code to itself in worker_main(); an unrecoverable error (the
    # broker gone for good, a bug) must not look like a clean stop to a supervisor.
    sys.exit(code or 0)


@cli.command()
def beat() -> None:
    """The scheduler: the outbox waker and sweeper, event pushes and other periodic work."""
    _settings()
    from workers.celery import celery_app

    private_umask()
    private_dir(INSTANCE)
    sys.exit(celery_app.start(argv=["--quiet", "beat", "--loglevel=INFO"]) or 0)


@cli.command()
@click.option("--bind", default=DEFAULT_BIND, show_default=True)
def run(bind: str) -> None:
    """serve + worker + beat in one foreground process group; a child that dies is restarted;
    Ctrl-C stops all within 10 s and leaves no process behind. Without BRIDGE_PUBLIC_URL, links
    follow --bind (the worker and beat it starts inherit it)."""
    follow_bind(os.environ, bind)
    _settings()
    private_umask()
    base = [sys.executable, "-m", "bridge.cli"]
    children = {
        "serve": [*base, "serve", "--bind", bind],
        "worker-private": [*base, "worker", "--lane", "private", "--concurrency", "2"],
        "worker-public": [*base, "worker", "--lane", "public", "--concurrency", "1"],
        "beat": [*base, "beat"],
    }
    sys.exit(Supervisor(children).run())


@cli.group()
def samples() -> None:
    """Sample complaints, for trying the bridge out."""


@samples.command("load")
@click.argument(
    "file", type=click.Path(dir_okay=False), default="examples/pacitan/complaints.jsonl"
)
@click.option(
    "--url",
    default=None,
    help="the bridge's base URL (default: BRIDGE_PUBLIC_URL, else http://127.0.0.1:8000)",
)
@click.option(
    "--key",
    envvar="WADULE_API_KEY",
    default=None,
    help="a wadule API key (default: $WADULE_API_KEY, else the sandbox key kept by make run)",
)
def samples_load(file: str, url: str | None, key: str | None) -> None:
    """POST each complaint of a JSON Lines file to the API, as Wadule would: they are routed
    and forwarded like real ones. Loading twice changes nothing (the same wadule_id and content
    answer 200)."""
    from bridge import samples as sample_loader

    try:
        results = sample_loader.load_file(
            file, url=url or sample_loader.default_url(), key=key or sample_loader.sandbox_key()
        )
    except sample_loader.SampleError as exc:
        raise click.ClickException(str(exc)) from None
    for result in results:
        click.echo(result.describe())
    click.echo(sample_loader.summary(results))
    if any(not result.ok for result in results):
        sys.exit(1)


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    cli(prog_name="wadule-bridge")


if __name__ == "__main__":
    main()
