"""docker-compose.yml: no Docker engine runs here, so the file's promises are checked as data."""

from __future__ import annotations

import yaml

from tests.support import ROOT


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_run_the_bridge_commands():
    services = compose()["services"]
    assert {"api", "worker", "beat", "redis", "postgres", "migrate"} <= set(services)
    assert services["api"]["command"][:2] == ["wadule-bridge", "serve"]
    assert "0.0.0.0:8000" in services["api"]["command"]
    assert services["worker"]["command"] == ["wadule-bridge", "worker"]
    assert services["beat"]["command"] == ["wadule-bridge", "beat"]
    assert services["migrate"]["command"] == ["wadule-bridge", "db", "upgrade"]


def test_bridge_services_use_postgres_and_redis_and_wait_for_them():
    services = compose()["services"]
    for name in ("api", "worker", "beat"):
        env = services[name]["environment"]
        assert env["BRIDGE_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@postgres:5432/" in env["BRIDGE_DATABASE_URL"]
        assert env["BRIDGE_BROKER_URL"] == "redis://redis:6379/0"
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_redis_keeps_the_queue_safe():
    command = compose()["services"]["redis"]["command"]
    pairs = dict(zip(command[1::2], command[2::2], strict=False))
    assert pairs["--appendonly"] == "yes"
    assert pairs["--appendfsync"] == "everysec"
    assert pairs["--maxmemory-policy"] == "noeviction"
    assert compose()["services"]["redis"]["volumes"]


def test_every_long_running_service_has_a_health_check():
    services = compose()["services"]
    for name in ("api", "worker", "redis", "postgres"):
        check = services[name]["healthcheck"]
        assert check["test"] and check["interval"]
    assert "/healthz" in " ".join(services["api"]["healthcheck"]["test"])


def test_no_secret_is_written_in_the_file():
    text = (ROOT / "docker-compose.yml").read_text()
    assert "POSTGRES_PASSWORD:?" in text
    assert "whsec_" not in text
    assert "BRIDGE_SECRET_KEY" not in text  # comes from .env
