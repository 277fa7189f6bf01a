"""Settings: every ``BRIDGE_*`` environment variable, read once by the app factory.

The table in ``shared/CONTRACT.md`` section 2 is the source of this module; the README repeats it
for operators. Nothing else in the code reads ``os.environ`` for bridge settings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from collections.abc import Mapping, MutableMapping

DEFAULT_DATABASE_URL = "sqlite:///instance/bridge.db"
DEFAULT_EMBEDDED_BROKER = "sqla+sqlite:///instance/broker.db"
#: Where the API, worker processes share their counters and histograms (see bridge.metrics).
DEFAULT_METRICS_DIR = "instance/metrics"
LOG_FORMATS = ("text", "json")

#: Seconds between delivery attempts: quick retries first, then backing off to about a day.
DEFAULT_DELIVERY_RETRY_SCHEDULE = (10, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200)
DEFAULT_CALLBACK_RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)

#: Languages the operator console speaks (``BRIDGE_CONSOLE_LANGUAGE``), the default first.
CONSOLE_LANGUAGES = ("id", "en")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name} must be 1 or 0, not {raw!r}")


def _schedule(env: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[float, ...]:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return tuple(float(x) for x in default)
    try:
        values = tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise SettingsError(f"{name} must be comma-separated seconds, not {raw!r}") from None
    if not values or any(v <= 0 for v in values):
        raise SettingsError(f"{name} must list positive seconds, not {raw!r}")
    return values


def default_rate_limits() -> dict[str, tuple[int, float]]:
    """Every channel kind's default per-target limit, as its adapter declares it."""
    from bridge.channels import default_rate_limits as declared

    return declared()


def parse_rate_limits(raw: str | None) -> dict[str, tuple[int, float]]:
    """Parse ``kind=COUNT/SECONDS,...`` over the defaults; unknown kinds are an error."""
    limits = default_rate_limits()
    if not raw or not raw.strip():
        return limits
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        match = re.fullmatch(r"([a-z_]+)\s*=\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)", item)
        if not match:
            raise SettingsError(f"BRIDGE_RATE_LIMITS: {item!r} is not kind=COUNT/SECONDS")
        kind, count, seconds = match.group(1), int(match.group(2)), float(match.group(3))
        if kind not in limits:
            raise SettingsError(f"BRIDGE_RATE_LIMITS: unknown channel kind {kind!r}")
        if count < 1 or seconds <= 0:
            raise SettingsError(f"BRIDGE_RATE_LIMITS: {item!r} needs COUNT >= 1 and SECONDS > 0")
        limits[kind] = (count, seconds)
    return limits


#: Weekday names as the working-time settings spell them, Monday first (``date.weekday()``).
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_WORKING_HOURS = "Mon-Fri 08:00-16:00"
DEFAULT_WEEKLY_REPORT = "Mon 07:00"


@dataclasses.dataclass(frozen=True)
class WorkingHours:
    """Each weekday's working window in WIB, Monday first: ``(start, end)`` in seconds after
    midnight (``end`` may be 86400, i.e. 24:00), or None on a day off."""

    windows: tuple[tuple[int, int] | None, ...]

    def __post_init__(self):
        if len(self.windows) != 7:
            raise ValueError("WorkingHours needs one entry per weekday, Monday first")
        if all(w is None for w in self.windows):
            raise ValueError("WorkingHours needs at least one working day")
        for window in self.windows:
            if window is not None and not 0 <= window[0] < window[1] <= 86400:
                raise ValueError(f"bad working window {window!r}")

    def __str__(self) -> str:
        return ",".join(
            f"{DAY_NAMES[day]} {_hhmm(w[0])}-{_hhmm(w[1])}"
            for day, w in enumerate(self.windows)
            if w is not None
        )


@dataclasses.dataclass(frozen=True)
class WeeklyReportTime:
    """When the weekly report goes out: a weekday (0 = Monday) and a time of day, in WIB."""

    weekday: int
    time: dt.time

    def __str__(self) -> str:
        return f"{DAY_NAMES[self.weekday]} {self.time:%H:%M}"


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _day(name: str) -> int | None:
    lowered = name.lower()
    for index, (short, full) in enumerate(zip(DAY_NAMES, _FULL_DAY_NAMES, strict=True)):
        if lowered in (short.lower(), full):
            return index
    return None


def _time_of_day(text: str, *, allow_24: bool) -> int | None:
    """Seconds after midnight of ``HH:MM`` (``H:MM`` too), or None when it is not a time."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if allow_24 and (hours, minutes) == (24, 0):
        return 86400
    if hours > 23 or minutes > 59:
        return None
    return hours * 3600 + minutes * 60


_DAYS_NAMES_HINT = "Mon, Tue, Wed, Thu, Fri, Sat or Sun"
_WORKING_ITEM = re.compile(
    r"(?P<first>[A-Za-z]+)(?:\s*-\s*(?P<last>[A-Za-z]+))?\s*"
    r"(?P<start>[0-9:]+)\s*-\s*(?P<end>[0-9:]+)"
)


def parse_working_hours(raw: str | None) -> WorkingHours:
    """Parse ``BRIDGE_WORKING_HOURS``: comma-separated ``DAYS HH:MM-HH:MM`` items in WIB.

    ``DAYS`` is one day (``Fri``) or a range (``Mon-Thu``; a range may wrap past Sunday, as in
    ``Sat-Mon``); days are English, short or full, in any case. One window per day: a day
    given twice is an error, not a second window. ``24:00`` may end a window; a window
    cannot cross midnight. Days not named are days off. Blank means the default.
    """
    name = "BRIDGE_WORKING_HOURS"
    if raw is None or not raw.strip():
        raw = DEFAULT_WORKING_HOURS
    windows: list[tuple[int, int] | None] = [None] * 7
    given_in: dict[int, str] = {}
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        match = _WORKING_ITEM.fullmatch(item)
        if not match:
            raise SettingsError(
                f"{name}: {item!r} is not DAYS HH:MM-HH:MM (e.g. Mon-Thu 07:30-16:00)"
            )
        first, last = match.group("first"), match.group("last") or match.group("first")
        for day_name in (first, last):
            if _day(day_name) is None:
                raise SettingsError(
                    f"{name}: {day_name!r} in {item!r} is not a day ({_DAYS_NAMES_HINT})"
                )
        start_day, end_day = _day(first), _day(last)
        days = [(start_day + i) % 7 for i in range((end_day - start_day) % 7 + 1)]
        start = _time_of_day(match.group("start"), allow_24=False)
        end = _time_of_day(match.group("end"), allow_24=True)
        for text, value in ((match.group("start"), start), (match.group("end"), end)):
            if value is None:
                raise SettingsError(
                    f"{name}: {text!r} in {item!r} is not a time of day (HH:MM, 00:00 to 24:00)"
                )
        if end <= start:
            raise SettingsError(
                f"{name}: {item!r} must end after it starts (a window cannot cross midnight)"
            )
        for day in days:
            if day in given_in:
                raise SettingsError(
                    f"{name}: {DAY_NAMES[day]} is given twice ({given_in[day]!r} and {item!r});"
                    " only one window per day is supported"
                )
            given_in[day] = item
            windows[day] = (start, end)
    if not given_in:
        raise SettingsError(f"{name} names no working day, e.g. {DEFAULT_WORKING_HOURS}")
    return WorkingHours(tuple(windows))


def parse_holidays(raw: str | None) -> frozenset[dt.date]:
    """Parse ``BRIDGE_HOLIDAYS``: comma-separated ``YYYY-MM-DD`` dates; blank means none."""
    dates = set()
    for item in (raw or "").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", item):
                raise ValueError
            dates.add(dt.date.fromisoformat(item))
        except ValueError:
            raise SettingsError(
                f"BRIDGE_HOLIDAYS: {item!r} is not a date (YYYY-MM-DD, comma-separated)"
            ) from None
    return frozenset(dates)


def parse_weekly_report(raw: str | None) -> WeeklyReportTime | None:
    """Parse ``BRIDGE_WEEKLY_REPORT``: ``DAY HH:MM`` in WIB, or ``off`` (None)."""
    if raw is None or not raw.strip():
        raw = DEFAULT_WEEKLY_REPORT
    text = raw.strip()
    if text.lower() == "off":
        return None
    match = re.fullmatch(r"([A-Za-z]+)\s+([0-9:]+)", text)
    day = _day(match.group(1)) if match else None
    seconds = _time_of_day(match.group(2), allow_24=False) if match else None
    if day is None or seconds is None:
        raise SettingsError(
            f"BRIDGE_WEEKLY_REPORT must be DAY HH:MM in WIB (e.g. Mon 07:00) or off, not {raw!r}"
        )
    return WeeklyReportTime(day, dt.time(seconds // 3600, seconds % 3600 // 60))


DEFAULT_PUBLIC_URL = "http://localhost:8000"


def public_url_for_bind(bind: str) -> str | None:
    """The base URL of a server listening on ``bind`` (``HOST:PORT``), for when
    ``BRIDGE_PUBLIC_URL`` is unset: ``127.0.0.1:8123`` -> ``http://127.0.0.1:8123``.

    A wildcard address (``0.0.0.0``, ``[::]``) becomes ``localhost``: links work on this
    machine, and anything reachable from elsewhere needs ``BRIDGE_PUBLIC_URL`` anyway. None for
    what is no TCP address (``unix:/path``, ``fd://3``).
    """
    bind = bind.strip()
    if not bind or bind.startswith(("unix:", "fd://")):
        return None
    host, colon, port = bind.rpartition(":")
    if not colon or (host.endswith(":") and not host.startswith("[")):
        host, port = bind, "8000"  # gunicorn's default port; a bare IPv6 address
    if not port.isdigit():
        return None
    host = host.strip("[]") or "localhost"
    if host in ("0.0.0.0", "::"):  # noqa: S104 (recognised, not bound)
        host = "localhost"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{int(port)}"


def follow_bind(env: MutableMapping[str, str], bind: str) -> str | None:
    """Set ``BRIDGE_PUBLIC_URL`` in ``env`` from ``bind`` unless it is set already; return what
    was set. ``serve`` and ``run`` call it before they start anything, so the processes they
    start (gunicorn's workers, ``run``'s worker and beat) inherit the same URL: the links and
    Instagram images they make point at the port the bridge really listens on."""
    if env.get("BRIDGE_PUBLIC_URL"):
        return None
    url = public_url_for_bind(bind)
    if url is not None:
        env["BRIDGE_PUBLIC_URL"] = url
    return url


def parse_templates_dir(raw: str | None) -> str | None:
    """Check ``BRIDGE_TEMPLATES_DIR``: a folder of message templates that must all load and
    render (a broken one stops the bridge at startup, never a message at send time)."""
    if raw is None or not raw.strip():
        return None
    folder = raw.strip()
    from bridge.templating import TemplateProblem, check_folder

    try:
        check_folder(folder)
    except TemplateProblem as exc:
        raise SettingsError(f"BRIDGE_TEMPLATES_DIR: {exc}") from None
    return folder


def _normalise_db_url(url: str) -> str:
    # psycopg 3 is the driver we ship; accept the common spellings of a PostgreSQL URL.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


#: A batch fills the send threads when a backlog builds up: up to 8 targets side by side, 5 rows
#: each (bridge.outbox.engine.PARALLEL_TARGETS, bridge.outbox.claim.PER_TARGET; a test checks).
#: At 20, half the threads sat idle and the backlog drained some 10 % slower (bench/delivery.py).
DEFAULT_DELIVERY_BATCH = 40


@dataclasses.dataclass(frozen=True)
class Settings:
    """The bridge's configuration. Build it with :meth:`from_env`; never mutate it."""

    database_url: str = DEFAULT_DATABASE_URL
    broker_url: str = DEFAULT_EMBEDDED_BROKER
    secret_key: str | None = None
    public_url: str = DEFAULT_PUBLIC_URL
    wadule_complaint_url: str = "https://wadul.pacitankab.go.id/aduan/{wadule_id}"
    wadule_callback_url: str | None = None
    wadule_webhook_secret: str | None = None
    sandbox: bool = False
    dev: bool = False
    whatsapp_provider: str = "waha"
    waha_url: str | None = None
    waha_api_key: str | None = None
    waha_session: str = "default"
    waha_webhook_hmac_key: str | None = None
    fonnte_url: str = "https://api.fonnte.com"
    fonnte_token: str | None = None
    graph_url: str = "https://graph.facebook.com"
    graph_version: str = "v24.0"
    x_api_url: str = "https://api.x.com"
    #: The X app's OAuth 1.0a keys (channels with ``auth: oauth1``).
    x_consumer_key: str | None = None
    x_consumer_secret: str | None = None
    #: The X app's OAuth 2.0 client (channels with ``auth: oauth2``); the secret only for a
    #: confidential client, which then authenticates to the token endpoint with HTTP Basic.
    x_client_id: str | None = None
    x_client_secret: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = None
    rate_limits: Mapping[str, tuple[int, float]] = dataclasses.field(
        default_factory=default_rate_limits
    )
    delivery_retry_schedule: tuple[float, ...] = tuple(
        float(x) for x in DEFAULT_DELIVERY_RETRY_SCHEDULE
    )
    callback_retry_schedule: tuple[float, ...] = tuple(
        float(x) for x in DEFAULT_CALLBACK_RETRY_SCHEDULE
    )
    sweep_interval: float = 15.0
    #: Hard limit of one delivery task; a claim's lease is this plus a margin.
    task_time_limit: float = 120.0
    #: Most outbox rows one delivery task claims and sends (its own plus due ones it takes on).
    #: A worker killed mid-batch leaves the rows it held to ``needs_review``: this bounds them.
    delivery_batch: int = DEFAULT_DELIVERY_BATCH
    #: Seconds to wait for a provider's answer once a request went out (None: each adapter's).
    http_timeout: float | None = None
    allow_private_webhooks: bool = False
    #: When SLA clocks run (contract section 10); see :mod:`bridge.worktime`.
    working_hours: WorkingHours = dataclasses.field(
        default_factory=lambda: parse_working_hours(None)
    )
    #: Non-working dates on top of Indonesia's public holidays (cuti bersama).
    extra_holidays: frozenset[dt.date] = frozenset()
    #: When the weekly report goes out; None: never (``off``).
    weekly_report: WeeklyReportTime | None = dataclasses.field(
        default_factory=lambda: parse_weekly_report(None)
    )
    #: The operator console's language: ``id`` (Indonesian, the default) or ``en``.
    console_language: str = "id"
    #: ``text`` or ``json`` (one JSON object a line); see :mod:`bridge.logs`.
    log_format: str = "text"
    #: A folder whose message templates replace the built-in ones by name (bridge.templating).
    templates_dir: str | None = None
    #: The folder the API and worker process trees share their metrics in (bridge.metrics).
    metrics_dir: str = DEFAULT_METRICS_DIR
    #: Environment variables that channels name with ``token_env``/``secret_env``.
    channel_secrets: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def lease_seconds(self) -> float:
        """How long a claimed delivery stays ``sending`` before it is presumed lost."""
        return self.task_time_limit + 10

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url.startswith("sqla+")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every ``BRIDGE_*`` variable; raise :class:`SettingsError` naming a bad one."""
        env = os.environ if env is None else env
        sandbox = _flag(env, "BRIDGE_SANDBOX")
        dev = _flag(env, "BRIDGE_DEV")
        provider = env.get("BRIDGE_WHATSAPP_PROVIDER", "waha").strip().lower()
        if provider not in ("waha", "fonnte"):
            raise SettingsError(
                f"BRIDGE_WHATSAPP_PROVIDER must be waha or fonnte, not {provider!r}"
            )
        secret_key = env.get("BRIDGE_SECRET_KEY") or None
        if secret_key is None and not (sandbox or dev):
            raise SettingsError(
                "BRIDGE_SECRET_KEY is required unless BRIDGE_SANDBOX=1 or BRIDGE_DEV=1"
            )
        callback_url = env.get("BRIDGE_WADULE_CALLBACK_URL") or None
        webhook_secret = env.get("BRIDGE_WADULE_WEBHOOK_SECRET") or None
        if callback_url and not webhook_secret:
            raise SettingsError(
                "BRIDGE_WADULE_WEBHOOK_SECRET is required with BRIDGE_WADULE_CALLBACK_URL"
            )
        if webhook_secret and not webhook_secret.startswith("whsec_"):
            raise SettingsError("BRIDGE_WADULE_WEBHOOK_SECRET must start with whsec_")
        complaint_url = env.get(
            "BRIDGE_WADULE_COMPLAINT_URL", "https://wadul.pacitankab.go.id/aduan/{wadule_id}"
        )
        if "{wadule_id}" not in complaint_url:
            raise SettingsError("BRIDGE_WADULE_COMPLAINT_URL must contain {wadule_id}")
        try:
            sweep_interval = float(env.get("BRIDGE_SWEEP_INTERVAL", "15"))
        except ValueError:
            raise SettingsError("BRIDGE_SWEEP_INTERVAL must be a number of seconds") from None
        if sweep_interval <= 0:
            raise SettingsError("BRIDGE_SWEEP_INTERVAL must be positive")
        try:
            task_time_limit = float(env.get("BRIDGE_TASK_TIME_LIMIT", "120"))
        except ValueError:
            raise SettingsError("BRIDGE_TASK_TIME_LIMIT must be a number of seconds") from None
        if not 5 <= task_time_limit <= 1800:
            raise SettingsError("BRIDGE_TASK_TIME_LIMIT must be between 5 and 1800 seconds")
        try:
            delivery_batch = int(env.get("BRIDGE_DELIVERY_BATCH", DEFAULT_DELIVERY_BATCH))
        except ValueError:
            raise SettingsError("BRIDGE_DELIVERY_BATCH must be a whole number") from None
        if not 1 <= delivery_batch <= 500:
            raise SettingsError("BRIDGE_DELIVERY_BATCH must be between 1 and 500")
        http_timeout = None
        if env.get("BRIDGE_HTTP_TIMEOUT"):
            try:
                http_timeout = float(env["BRIDGE_HTTP_TIMEOUT"])
            except ValueError:
                raise SettingsError("BRIDGE_HTTP_TIMEOUT must be a number of seconds") from None
            if not 0 < http_timeout <= task_time_limit / 3:
                raise SettingsError(
                    "BRIDGE_HTTP_TIMEOUT must be positive and at most a third of"
                    " BRIDGE_TASK_TIME_LIMIT (a send may take a few calls)"
                )
        console_language = (env.get("BRIDGE_CONSOLE_LANGUAGE") or "id").strip().lower()
        if console_language not in CONSOLE_LANGUAGES:
            raise SettingsError(
                "BRIDGE_CONSOLE_LANGUAGE must be "
                + " or ".join(CONSOLE_LANGUAGES)
                + f", not {env['BRIDGE_CONSOLE_LANGUAGE']!r}"
            )
        log_format = (env.get("BRIDGE_LOG_FORMAT") or "text").strip().lower()
        if log_format not in LOG_FORMATS:
            raise SettingsError(f"BRIDGE_LOG_FORMAT must be text or json, not {log_format!r}")
        return cls(
            database_url=_normalise_db_url(env.get("BRIDGE_DATABASE_URL") or DEFAULT_DATABASE_URL),
            broker_url=env.get("BRIDGE_BROKER_URL") or DEFAULT_EMBEDDED_BROKER,
            secret_key=secret_key,
            public_url=(env.get("BRIDGE_PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/"),
            wadule_complaint_url=complaint_url,
            wadule_callback_url=callback_url,
            wadule_webhook_secret=webhook_secret,
            sandbox=sandbox,
            dev=dev,
            whatsapp_provider=provider,
            waha_url=(env.get("BRIDGE_WAHA_URL") or "").rstrip("/") or None,
            waha_api_key=env.get("BRIDGE_WAHA_API_KEY") or None,
            waha_session=env.get("BRIDGE_WAHA_SESSION") or "default",
            waha_webhook_hmac_key=env.get("BRIDGE_WAHA_WEBHOOK_HMAC_KEY") or None,
            fonnte_url=(env.get("BRIDGE_FONNTE_URL") or "https://api.fonnte.com").rstrip("/"),
            fonnte_token=env.get("BRIDGE_FONNTE_TOKEN") or None,
            graph_url=(env.get("BRIDGE_GRAPH_URL") or "https://graph.facebook.com").rstrip("/"),
            graph_version=env.get("BRIDGE_GRAPH_VERSION") or "v24.0",
            x_api_url=(env.get("BRIDGE_X_API_URL") or "https://api.x.com").rstrip("/"),
            x_consumer_key=env.get("BRIDGE_X_CONSUMER_KEY") or None,
            x_consumer_secret=env.get("BRIDGE_X_CONSUMER_SECRET") or None,
            x_client_id=env.get("BRIDGE_X_CLIENT_ID") or None,
            x_client_secret=env.get("BRIDGE_X_CLIENT_SECRET") or None,
            telegram_api_url=(
                env.get("BRIDGE_TELEGRAM_API_URL") or "https://api.telegram.org"
            ).rstrip("/"),
            telegram_bot_token=env.get("BRIDGE_TELEGRAM_BOT_TOKEN") or None,
            telegram_webhook_secret=env.get("BRIDGE_TELEGRAM_WEBHOOK_SECRET") or None,
            rate_limits=parse_rate_limits(env.get("BRIDGE_RATE_LIMITS")),
            delivery_retry_schedule=_schedule(
                env, "BRIDGE_DELIVERY_RETRY_SCHEDULE", DEFAULT_DELIVERY_RETRY_SCHEDULE
            ),
            callback_retry_schedule=_schedule(
                env, "BRIDGE_CALLBACK_RETRY_SCHEDULE", DEFAULT_CALLBACK_RETRY_SCHEDULE
            ),
            sweep_interval=sweep_interval,
            task_time_limit=task_time_limit,
            delivery_batch=delivery_batch,
            http_timeout=http_timeout,
            allow_private_webhooks=_flag(env, "BRIDGE_ALLOW_PRIVATE_WEBHOOKS"),
            working_hours=parse_working_hours(env.get("BRIDGE_WORKING_HOURS")),
            extra_holidays=parse_holidays(env.get("BRIDGE_HOLIDAYS")),
            weekly_report=parse_weekly_report(env.get("BRIDGE_WEEKLY_REPORT")),
            console_language=console_language,
            log_format=log_format,
            templates_dir=parse_templates_dir(env.get("BRIDGE_TEMPLATES_DIR")),
            metrics_dir=(env.get("BRIDGE_METRICS_DIR") or "").strip() or DEFAULT_METRICS_DIR,
            channel_secrets={
                k: v for k, v in env.items() if not k.startswith("BRIDGE_") and k.isupper()
            },
        )

    def replace(self, **changes) -> Settings:
        """A copy with some fields changed (tests and the CLI use it)."""
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        # Secrets never reach logs or tracebacks through a repr.
        database, broker = _mask_url(self.database_url), _mask_url(self.broker_url)
        return (
            f"Settings(database={database}, broker={broker},"
            f" sandbox={self.sandbox}, whatsapp_provider={self.whatsapp_provider})"
        )


def _mask_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)
