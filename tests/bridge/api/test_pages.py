"""The pages for people outside the console: ``/`` and the API reference at ``/api/v1/docs``."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from bridge.pages import CONTENT_SECURITY_POLICY


class _Page(HTMLParser):
    """What a page loads and links, and anything a strict policy would block."""

    def __init__(self):
        super().__init__()
        self.scripts, self.styles, self.links, self.inline = [], [], [], []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "style" in attrs or any(name.startswith("on") for name in attrs):
            self.inline.append((tag, attrs))
        if tag == "style":
            self.inline.append((tag, attrs))
        if tag == "script":
            self._in_script = True
            if "src" in attrs:
                self.scripts.append(attrs["src"])
        if tag == "link":
            self.styles.append(attrs["href"])
        if tag == "a":
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append(("script", data.strip()[:40]))


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def test_docs_page_serves_swagger_ui_from_the_bridge(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    page = _parse(response.get_data(as_text=True))
    assert page.inline == []  # nothing the policy would block
    assert page.scripts == [
        "/api/v1/docs/assets/swagger-ui-bundle.js",
        "/static/docs.js",
    ]
    for url in page.scripts + page.styles:
        assert not urlsplit(url).netloc, url  # no CDN: every asset from this origin
        with client.get(url) as asset:
            assert asset.status_code == 200, url
    assert "SwaggerUIBundle" in _text(client, "/api/v1/docs/assets/swagger-ui-bundle.js")
    # Swagger UI 5 reads OpenAPI 3.1 (4.x does not).
    version = _text(client, "/api/v1/docs/assets/VERSION").strip()
    assert int(version.lstrip("v").split(".")[0]) >= 5
    licence = _text(client, "/api/v1/docs/assets/LICENSE")
    assert "Apache License" in licence and "SmartBear" in licence
    # Never sends the document to swagger.io's online validator.
    assert "validatorUrl: null" in _text(client, "/static/docs.js")


def _text(client, url: str) -> str:
    with client.get(url) as response:
        assert response.status_code == 200, url
        return response.get_data(as_text=True)


def test_docs_assets_serve_only_what_the_page_uses(client):
    for name in ("index.html", "oauth2-redirect.html", "..%2Fdocs.py", "swagger-ui.js"):
        with client.get(f"/api/v1/docs/assets/{name}") as response:
            assert response.status_code == 404, name


def test_home_page_links_the_docs_the_console_and_health(client):
    response = client.get("/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    page = _parse(response.get_data(as_text=True))
    assert page.inline == []
    for link in (
        "/api/v1/docs",
        "/api/v1/openapi.json",
        "/ops/",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert link in page.links, link
    for link in page.links:
        with client.get(link) as linked:
            assert linked.status_code in (200, 302), link  # the console asks to log in


def test_home_answers_json_to_json_clients(client):
    response = client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "wadule-bridge"
    assert body["links"]["docs"] == "/api/v1/docs"


@pytest.fixture
def live_bridge(directory):
    """The app on a real port (the browser needs one), in a thread, stopped afterwards."""
    server = make_server("127.0.0.1", 0, directory, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.mark.serial  # a browser: see SERIAL in tests/conftest.py
def test_docs_page_renders_in_a_browser_under_its_policy(live_bridge, tmp_path):
    """Headless Chromium loads the page as served (with its CSP): Swagger UI draws every
    operation and the webhooks, and the browser reports no blocked script, style or request."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail(
            "Chromium is not installed: apt-get install chromium chromium-driver (.ci/run"
            " installs them when missing)"
        )
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
            f"{live_bridge}/api/v1/docs",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    dom = result.stdout
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    blocked = [line for line in console if "Content Security Policy" in line or "Refused" in line]
    assert blocked == []
    errors = [line for line in console if "Uncaught" in line or "Failed to load" in line]
    assert errors == []
    for path in ('data-path="/api/v1/complaints"', 'data-path="/api/v1/events"'):
        assert path in dom, path
    assert "complaint.status_changed" in dom  # the webhooks section
    assert "OAS 3.1" in dom
