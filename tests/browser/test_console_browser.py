"""The operator console in a real browser: headless Chromium driven by Selenium against
``wadule-bridge serve`` on the test PostgreSQL database and Redis.

An operator logs in, reads the dashboard, retries a WhatsApp delivery that failed on a wrong
WAHA key (the key has been fixed since) and sees it sent, retries several at once, looks at
the channel checks and queues one, reads a complaint and the OPDs, opens the weekly report
(its chart, a sort, the CSV), reads the sandbox inbox, and logs out. Every page is photographed
at 1280 px and at 390 px (a phone) into ``test-artifacts/screenshots/`` (not committed), and at
each width nothing may be wider than the screen.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them): without
them the test fails saying what is missing; it never skips.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from bridge import checks, outbox
from bridge.complaints import ingest, load_complaint
from bridge.db import new_session
from bridge.models import Delivery
from bridge.operators import create_operator
from bridge.queue import CHECK_TASK, HOUSEKEEPING_QUEUE
from bridge.reports.chart import BAND_COLOURS
from bridge.statuses import ComplaintStatus
from bridge.workflow import Actor, change_status
from bridge.worktime import current_iso_week
from tests.support import ROOT, free_port, use_directory

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
#: The flags a headless Chromium needs on these machines (closed network, running as root).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
DESKTOP = (1280, 900)
PHONE = (390, 844)
PASSWORD = "kopi-tubruk-pacitan"
DPUPR_GROUP = "120363000000000101@g.us"


def _browser_or_fail():
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} missing: install Debian's chromium and chromium-driver "
            "(apt-get install chromium chromium-driver; .ci/run does it)",
            pytrace=False,
        )
    try:
        from selenium import webdriver
    except ImportError:
        pytest.fail("selenium is not installed: pip install -e '.[test]'", pytrace=False)
    return webdriver


# --- the data the operator finds ----------------------------------------------------------


def complaint_data(wadule_id: str, category: str, title: str) -> dict:
    return {
        "wadule_id": wadule_id,
        "title": title,
        "body": f"{title}. Mohon segera ditindaklanjuti.",
        "category": category,
        "reporter": {"name": "Sutrisno", "phone": "081234560101"},
        "location": {"address": "Jl. Raya Arjosari", "district": "Arjosari"},
        "anonymous": False,
        "confidential": False,
        "attachments": [],
    }


def ingest_and_send(app, data: dict) -> dict[str, int]:
    """Ingest a complaint and attempt each of its rows once; its row ids by channel kind."""
    with app.app_context(), new_session() as db:
        complaint, _ = ingest(db, data, Actor("wadule", "test"))
        ids = {d.kind: d.id for d in complaint.deliveries}
    with app.app_context():
        outbox.deliver_batch(list(ids.values()), take_on=False)
    return ids


def statuses(app, ids) -> dict[int, str]:
    with app.app_context(), new_session() as db:
        rows = db.execute(select(Delivery.id, Delivery.status).where(Delivery.id.in_(list(ids))))
        return dict(rows.all())


@pytest.fixture
def scene(make_app, fake_waha):
    """The bridge's database as the operator finds it, and apps to act as its worker.

    ``live`` talks to the fake WAHA with the right key (as the server will); the complaints
    that fail were first sent with a wrong key, which someone has fixed since.
    """
    fake_waha.add_group(DPUPR_GROUP)
    fake_waha.add_group("120363000000000100@g.us")  # diskominfo's
    live_env = {
        **fake_waha.bridge_settings(),
        "BRIDGE_RATE_LIMITS": "whatsapp_group=100/1",
        "BRIDGE_HTTP_TIMEOUT": "1",
    }
    live = make_app(**live_env)
    use_directory(live)
    with live.app_context(), new_session() as db:
        create_operator(db, "siti", PASSWORD)

    # An earlier run in sandbox mode left a message in the sandbox inbox.
    sandboxed = make_app(BRIDGE_SANDBOX="1")
    ingest_and_send(
        sandboxed, complaint_data("WDL-2026-000104", "sampah", "Sampah menumpuk di pasar")
    )
    broken = make_app(**(live_env | {"BRIDGE_WAHA_API_KEY": "a-key-that-was-revoked"}))
    first = ingest_and_send(
        broken, complaint_data("WDL-2026-000101", "jalan", "Jalan berlubang di Arjosari")
    )
    second = ingest_and_send(
        broken, complaint_data("WDL-2026-000102", "kesehatan", "Antrean puskesmas terlalu lama")
    )
    # WAHA takes this one and never answers: the bridge cannot know whether it was posted.
    fake_waha.hang_next(1, seconds=5)
    third = ingest_and_send(
        live, complaint_data("WDL-2026-000103", "pantai", "Toilet Pantai Klayar rusak")
    )
    wanted = {
        first["whatsapp_group"]: "dead",
        second["whatsapp_group"]: "dead",
        third["whatsapp_group"]: "needs_review",
    }
    assert statuses(live, wanted) == wanted
    checks.run_checks(live)
    return {"live": live, "env": live_env, "first": first, "second": second, "third": third}


@pytest.fixture
def server(scene, env, tmp_path):
    """``wadule-bridge serve`` on a free port, with the live settings; stopped afterwards."""
    port = free_port()
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    child_env |= env | scene["env"] | {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bridge.cli",
                "serve",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers=1",
            ],
            cwd=tmp_path,
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail("serve exited early:\n" + log_path.read_text()[-3000:])
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass  # not listening yet
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def browser(tmp_path):
    webdriver = _browser_or_fail()
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={DESKTOP[0]},{DESKTOP[1]}")
    driver = webdriver.Chrome(
        options=options,
        service=Service(executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "driver.log")),
    )
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


# --- what the operator does ---------------------------------------------------------------


class Operator:
    """The browser, with the few gestures the scenario needs and a camera."""

    def __init__(self, driver, base: str):
        from selenium.webdriver.common.by import By

        self.driver = driver
        self.base = base
        self.by = By
        self.shots: list[str] = []

    def css(self, selector: str):
        return self.driver.find_element(self.by.CSS_SELECTOR, selector)

    def all(self, selector: str):
        return self.driver.find_elements(self.by.CSS_SELECTOR, selector)

    def text(self, selector: str) -> str:
        return self.css(selector).text

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def click(self, selector: str) -> None:
        """Click and wait for the page that the click loads."""
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        element = self.css(selector)
        old_page = self.css("html")
        # To the middle of the screen: the sticky bulk bar may cover the bottom rows.
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()
        WebDriverWait(self.driver, 15).until(expected_conditions.staleness_of(old_page))

    def tick(self, selector: str) -> None:
        element = self.css(selector)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        if not element.is_selected():
            element.click()

    def flashes(self) -> list[str]:
        return [element.text for element in self.all("p.flash")]

    def shoot(self, name: str) -> None:
        """Photograph the whole page at each width; nothing may stick out sideways."""
        for width, height in (DESKTOP, PHONE):
            self._viewport(width, height)
            scroll_width = self.driver.execute_script(
                "return document.scrollingElement.scrollWidth"
            )
            content = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
            # The whole page in one viewport, so sticky parts sit where the page ends.
            self._viewport(width, max(height, math.ceil(content["height"])))
            shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
            path = SCREENSHOTS / f"{name}-{width}.png"
            path.write_bytes(base64.b64decode(shot["data"]))
            self.shots.append(path.name)
            assert scroll_width <= width, f"{name}: {scroll_width} px wide at {width} px"
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def _viewport(self, width: int, height: int) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": width,
                "height": height,
                "deviceScaleFactor": 1,
                "mobile": width < 600,  # a phone honours the page's viewport meta tag
            },
        )


def test_an_operator_works_the_console_in_a_real_browser(
    scene, server, browser, redis_server, fake_waha
):
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    live, first, second, third = scene["live"], scene["first"], scene["second"], scene["third"]
    me = Operator(browser, server)

    # Log in: every page asks for it first.
    me.open("/ops/deliveries")
    assert "/ops/login" in browser.current_url
    assert me.text("h1") == "Konsol Wadule Bridge"
    assert me.css("html").get_attribute("lang") == "id"
    me.shoot("01-login")
    me.css("input[name=username]").send_keys("siti")
    me.css("input[name=password]").send_keys(PASSWORD)
    me.click("form[action='/ops/login'] button")
    assert browser.current_url == server + "/ops/deliveries"

    # The dashboard.
    me.click("a.brand")
    assert me.text("h1") == "Kesehatan antrean"
    assert me.text("#needs-review") == "1"
    assert int(me.text("#dead")) >= 2 and int(me.text("#unusable")) >= 1
    assert me.text("#broker") == "tersambung"
    me.shoot("02-dashboard")

    # Failing deliveries: the WhatsApp row that met the revoked key.
    me.click("nav a[href='/ops/deliveries']")
    row = f"#delivery-{first['whatsapp_group']}"
    assert "gagal" in me.text(f"{row} .st") and "waha: bad api key" in me.text(row)
    assert me.css(f"{row} .st").get_attribute("title") == "dead"
    me.shoot("03-deliveries")

    # Retry it; a worker sends it (here in-process), and it is sent.
    me.click(f"{row} form.retry button")
    assert me.flashes() == ["1 pengiriman Grup WhatsApp untuk WDL-2026-000101 dijadwalkan ulang."]
    me.shoot("04-retried")
    with live.app_context():
        done = outbox.deliver_batch([first["whatsapp_group"]], take_on=False)
    assert done.summary() == {"sent": 1}
    assert any("#WDL-2026-000101" in text for text in fake_waha.texts(DPUPR_GROUP))

    # The complaint, found with the search box: its WhatsApp delivery is sent now.
    me.css("input[name=wadule_id]").send_keys("WDL-2026-000101")
    me.click("form.find button")
    assert me.text("h1") == "WDL-2026-000101 diteruskan"
    whatsapp = me.text(f"#delivery-{first['whatsapp_group']}")
    assert "terkirim" in whatsapp and "Grup WhatsApp" in whatsapp
    me.shoot("05-complaint")

    # Bulk: the other WhatsApp failure and the one WAHA left unanswered (checked by a person).
    me.click("nav a[href='/ops/deliveries']")
    chosen = [second["whatsapp_group"], third["whatsapp_group"]]
    for delivery_id in chosen:
        me.tick(f"#delivery-{delivery_id} input[name=ids]")
    me.tick("#bulk input[name=checked]")
    me.click("#bulk button[value=selected]")
    assert me.flashes() == ["2 pengiriman dijadwalkan ulang."]
    me.shoot("06-bulk-retried")
    with live.app_context():
        assert outbox.deliver_batch(chosen, take_on=False).summary() == {"sent": 2}
    assert set(statuses(live, chosen).values()) == {"sent"}

    # Bulk, every failing delivery of one channel kind (X here).
    from selenium.webdriver.support.ui import Select

    Select(me.css("form.filter select[name=kind]")).select_by_value("x")
    me.click("form.filter button")
    assert "kind=x" in browser.current_url
    assert me.text("#retry-all") == "Kirim ulang semua 3 di saringan ini"
    me.shoot("07-filtered-x")
    me.click("#retry-all")
    assert me.flashes() == ["3 pengiriman dijadwalkan ulang."]
    x_rows = [first["x"], second["x"], third["x"]]
    assert set(statuses(live, x_rows).values()) == {"retrying"}

    # Channel checks: the last verdicts, and a new check queued for a worker.
    me.click("nav a[href='/ops/checks']")
    assert me.text("h1") == "Pemeriksaan saluran"
    verdicts = {
        (cells[0].text, cells[1].text): cells[3].text
        for cells in (tr.find_elements(me.by.TAG_NAME, "td") for tr in me.all("#checks tbody tr"))
    }
    assert verdicts[("dpupr", "Grup WhatsApp")] == "baik"
    assert verdicts[("dpupr", "Halaman Facebook")] == "tidak bisa dipakai"
    me.shoot("08-checks")
    redis = redis_server.client()
    redis.delete(HOUSEKEEPING_QUEUE)
    me.click("form.run-check button")
    assert me.flashes()[0].startswith("Pemeriksaan semua saluran sudah dijadwalkan.")
    queued = [json.loads(raw)["headers"]["task"] for raw in redis.lrange(HOUSEKEEPING_QUEUE, 0, -1)]
    assert queued == [CHECK_TASK]

    # Responsiveness per OPD, and the sandbox inbox of an earlier run.
    me.click("nav a[href='/ops/opds']")
    assert me.text("h1") == "Responsivitas OPD"
    me.shoot("09-opds")

    # The weekly report: dpupr answers its complaint, and this week's report (the page opens
    # on the last complete week; "next" goes to this one) charts it.
    with live.app_context(), new_session() as db:
        complaint = load_complaint(db, "WDL-2026-000101")
        change_status(
            db, complaint, ComplaintStatus.ACKNOWLEDGED, note=None, actor=Actor("opd", "dpupr")
        )
        db.commit()
    me.click("nav a[href='/ops/reports/weekly']")
    last_week = current_iso_week().previous()
    assert me.text("h1") == f"Laporan mingguan {last_week}"
    me.click("#next-week")
    assert me.text("h1") == f"Laporan mingguan {current_iso_week()}"
    chart = me.css("#chart svg")
    assert chart.is_displayed() and chart.size["width"] > 600
    bars = [
        rect
        for rect in chart.find_elements(me.by.TAG_NAME, "rect")
        if rect.get_attribute("fill") in {colour for colour in BAND_COLOURS.values()}
    ]
    assert bars and all(bar.is_displayed() for bar in bars)
    row = me.text("#office-dpupr")
    assert "Dinas Pekerjaan Umum" in row or "dpupr" in row
    assert me.css("#office-dpupr td[data-col=answered]").text.split()[0] == "1"
    assert len(me.all("#report svg.spark")) == len(me.all("#report tbody tr"))
    # Sorting is a link: by most answered, dpupr (the one office that answered) comes first.
    me.click("#report a[data-sort=answered]")
    assert "sort=answered" in browser.current_url
    assert me.all("#report tbody tr")[0].get_attribute("id") == "office-dpupr"
    me.shoot("10-report")
    # The CSV, fetched with the browser's session.
    link = me.css("#csv").get_attribute("href")
    cookies = {cookie["name"]: cookie["value"] for cookie in browser.get_cookies()}
    download = requests.get(link, cookies=cookies, timeout=30)
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="wadule-weekly-{current_iso_week()}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8"))))
    dpupr = next(row for row in rows if row["opd"] == "dpupr")
    assert (dpupr["received"], dpupr["answered"]) == ("1", "1")
    assert "Sutrisno" not in download.text and "081234560101" not in download.text
    # A bad week is a page that says so, in the console's frame.
    me.open("/ops/reports/weekly?week=2026-W99")
    assert "tidak valid" in me.text("#problem")
    me.shoot("11-report-bad-week")

    me.click("nav a[href='/ops/sandbox']")
    assert me.text("#sandbox-off").startswith("Mode sandbox mati")
    assert "#WDL-2026-000104" in me.text("article.message")
    me.shoot("12-sandbox")

    # Log out: the session ends.
    me.click("form.who button")
    assert me.flashes() == ["Anda sudah keluar."]
    me.shoot("13-logged-out")
    me.open("/ops/")
    assert "/ops/login" in browser.current_url
    assert len(me.shots) == 26
