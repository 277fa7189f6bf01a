"""docker-compose.yml, the Dockerfile and .env.example: no Docker engine runs here, so the
files' promises are checked as data, and the healthchecks that are plain commands are run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
import yaml

from bridge.settings import Settings
from tests.support import ROOT

BRIDGE_SERVICES = ("migrate", "api", "worker", "worker-public", "beat")
LONG_RUNNING = ("api", "worker", "worker-public", "beat", "waha", "redis", "postgres")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def services() -> dict:
    return compose()["services"]


class _Recording(dict):
    """An environment that notes every variable asked for."""

    def __init__(self, values):
        super().__init__(values)
        self.asked: list[str] = []

    def get(self, key, default=None):
        self.asked.append(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.append(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.asked.append(key)
        return super().__contains__(key)


def settings_read_from_env() -> list[str]:
    """Every ``BRIDGE_*`` variable ``Settings.from_env`` reads, in the order it reads them."""
    env = _Recording({"BRIDGE_SANDBOX": "1", "BRIDGE_HTTP_TIMEOUT": "5"})
    Settings.from_env(env)
    names = list(dict.fromkeys(name for name in env.asked if name.startswith("BRIDGE_")))
    assert len(names) > 30  # the recording works
    return names


def env_example() -> dict[str, str | None]:
    """``.env.example``'s variables: value for a set line, None for a commented-out one."""
    found: dict[str, str | None] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            found.setdefault(match[2], None if match[1] else match[3])
    return found


def test_services_run_the_bridge_commands():
    found = services()
    assert set(BRIDGE_SERVICES + LONG_RUNNING) == set(found)
    assert found["api"]["command"] == ["wadule-bridge", "serve", "--bind", "0.0.0.0:8000"]
    assert found["worker"]["command"] == ["wadule-bridge", "worker", "--lane", "private"]
    assert found["worker-public"]["command"] == ["wadule-bridge", "worker", "--lane", "public"]
    assert found["beat"]["command"] == ["wadule-bridge", "beat"]
    assert found["beat"]["deploy"]["replicas"] == 1


def test_migrations_and_the_directory_come_before_the_app():
    found = services()
    migrate = found["migrate"]
    script = migrate["command"][-1]
    assert migrate["command"][:2] == ["sh", "-c"]
    assert script == (
        "wadule-bridge db upgrade && wadule-bridge directory import /app/config/opds.yaml"
    )
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("api", "worker", "worker-public", "beat"):
        assert found[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }, name


def test_the_real_directory_is_mounted_not_baked_in():
    for name in BRIDGE_SERVICES:
        assert "./config:/app/config:ro" in services()[name]["volumes"], name
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "examples" not in re.sub(r"#.*", "", dockerfile)
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "config/opds.yaml" in ignored and ".env" in ignored
    assert (ROOT / "config" / "README.md").exists()


def test_bridge_services_use_postgres_redis_and_waha():
    for name in BRIDGE_SERVICES:
        env = services()[name]["environment"]
        assert env["BRIDGE_DATABASE_URL"].startswith("postgresql+psycopg://bridge:")
        assert "@postgres:5432/bridge" in env["BRIDGE_DATABASE_URL"]
        assert env["BRIDGE_BROKER_URL"] == "redis://redis:6379/0"
        assert env["BRIDGE_WAHA_URL"] == "http://waha:3000"
        assert services()[name]["env_file"] == ".env"


def test_waha_is_wired_to_the_bridge():
    from bridge import create_app

    waha = services()["waha"]["environment"]
    api = services()["api"]["environment"]
    assert waha["WHATSAPP_HOOK_URL"] == "http://api:8000/webhooks/waha"
    app = create_app(settings=Settings.from_env({"BRIDGE_SANDBOX": "1"}))
    rules = {rule.rule: rule.methods for rule in app.url_map.iter_rules()}
    assert "POST" in rules["/webhooks/waha"]
    # docs/providers/waha.md: commands and both kinds of receipts.
    assert waha["WHATSAPP_HOOK_EVENTS"].split(",") == [
        "message",
        "message.ack",
        "message.ack.group",
    ]
    # The same variables on both sides: WAHA signs with the key the bridge checks, and asks for
    # the API key the bridge sends.
    assert _variable(waha["WHATSAPP_HOOK_HMAC_KEY"]) == "BRIDGE_WAHA_WEBHOOK_HMAC_KEY"
    assert _variable(api["BRIDGE_WAHA_WEBHOOK_HMAC_KEY"]) == "BRIDGE_WAHA_WEBHOOK_HMAC_KEY"
    assert _variable(waha["WAHA_API_KEY"]) == "BRIDGE_WAHA_API_KEY"
    assert _variable(api["BRIDGE_WAHA_API_KEY"]) == "BRIDGE_WAHA_API_KEY"
    assert "waha-sessions:/app/.sessions" in services()["waha"]["volumes"]


def _variable(value: str) -> str:
    match = re.fullmatch(r"\$\{([A-Z0-9_]+)(?::[?-][^}]*)?\}", value)
    assert match, value
    return match[1]


def test_redis_keeps_the_queue_safe():
    command = services()["redis"]["command"]
    pairs = dict(zip(command[1::2], command[2::2], strict=False))
    assert pairs["--appendonly"] == "yes"
    assert pairs["--appendfsync"] == "everysec"
    assert pairs["--maxmemory-policy"] == "noeviction"
    assert services()["redis"]["volumes"]


def test_every_long_running_service_has_a_health_check():
    for name in LONG_RUNNING:
        check = services()[name]["healthcheck"]
        assert check["test"] and check["interval"], name
    assert "healthcheck" not in services()["migrate"]  # it runs once and exits
    assert "/healthz" in " ".join(services()["api"]["healthcheck"]["test"])


def test_worker_health_checks_ping_their_own_lane():
    cli = (ROOT / "bridge" / "cli.py").read_text()
    assert '"-n",\n            f"{lane}@%h",' in cli  # how `worker --lane` names its node
    for name in ("worker", "worker-public"):
        lane = services()[name]["command"][-1]
        test = services()[name]["healthcheck"]["test"]
        assert test[0] == "CMD-SHELL"
        assert f"inspect ping -d {lane}@$$HOSTNAME" in test[1] and "grep -q pong" in test[1]


@pytest.mark.parametrize(
    ("files", "healthy"),
    [([], False), ([0], True), ([-700], False), ([-700, -5], True)],
)
def test_beat_health_check_runs(tmp_path, files, healthy):
    """The beat check, run for real: healthy while its schedule file was written in the last
    ten minutes (dbm may split it into .dat/.dir/.bak files)."""
    test = services()["beat"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    code = test[3].replace("/app/instance", str(tmp_path))
    assert code != test[3]
    for index, age in enumerate(files):
        path = tmp_path / f"celerybeat-schedule{('.dat', '.dir')[index]}"
        path.write_bytes(b"x")
        stamp = time.time() + age
        os.utime(path, (stamp, stamp))
    result = subprocess.run([sys.executable, "-c", code], timeout=30)
    assert (result.returncode == 0) == healthy


def test_beat_writes_its_schedule_where_the_check_looks():
    from bridge.queue import celery_config

    config = celery_config(Settings.from_env({"BRIDGE_SANDBOX": "1"}))
    assert config["beat_schedule_filename"] == "instance/celerybeat-schedule"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "WORKDIR /app" in dockerfile  # so instance/ is /app/instance


def test_every_setting_is_set_by_compose_or_listed_in_env_example():
    example = env_example()
    bridge_env = services()["api"]["environment"]
    for name in settings_read_from_env():
        assert name in bridge_env or name in example, f"{name} is neither set nor in .env.example"


def test_every_variable_compose_asks_for_is_in_env_example():
    text = (ROOT / "docker-compose.yml").read_text()
    asked = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    example = env_example()
    assert asked <= set(example), asked - set(example)
    required = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", text))
    for name in required:
        assert name in example and example[name] is not None, f"{name} must be an active line"


def test_no_secret_is_written_in_the_file():
    text = (ROOT / "docker-compose.yml").read_text()
    assert "whsec_" not in text
    for name, service in services().items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"KEY|SECRET|PASSWORD|TOKEN", key):
                assert str(value).startswith("${"), (name, key)
    example = env_example()
    for key, value in example.items():
        if value and re.search(r"KEY|SECRET|PASSWORD|TOKEN", key):
            pytest.fail(f".env.example holds a value for {key}")
