"""The console in a real browser (headless Chromium) against the real web process, a worker, Redis and the
simulator: sign in, watch alerts and jobs arrive, open a failed job, replay it, see it finish; nothing without
a session; a forged cross-site POST refused; a refused alert shown with its reason and never its secret."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from executor.localredis import free_port
from tests.browser import DESKTOP, PHONE, chromium_missing, launch
from tests.coinw import open_position
from tests.conftest import ADMIN_TOKEN, WEBHOOK_SECRET
from tests.processes import WorkerProcesses, wait_until, worker_environment
from tests.webprocess import WebProcess

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

WAIT_MS = 15_000
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def browser():
    missing = chromium_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests must run in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def stack(redis_url, simulator_server, tmp_path_factory):
    """The web process and one worker, as deployed, on the test Redis and the simulator."""
    logs = Path(tmp_path_factory.mktemp("stack"))
    with WebProcess(redis_url, simulator_server.base_url, logs / "web.log") as web, \
            WorkerProcesses(worker_environment(redis_url, simulator_server.base_url), 1, logs):
        yield web


@pytest.fixture
def page(browser, stack, simulator):
    context = browser.new_context(viewport=DESKTOP)
    yield context.new_page()
    context.close()


def sign_in(page, stack) -> None:
    page.goto(f"{stack.url}/dashboard")
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Jobs").wait_for(timeout=WAIT_MS)


def send(stack, **fields) -> requests.Response:
    body = {"secret": WEBHOOK_SECRET, "venue": "coinw", "action": "reverse", "symbol": "BTC", **fields}
    return requests.post(f"{stack.url}/webhook", json=body, timeout=5)


def job_row(page, job_id: str):
    return page.locator(f'#jobs-body tr[data-job-id="{job_id}"]')


def job_status(stack, job_id: str) -> str:
    return requests.get(f"{stack.url}/jobs/{job_id}", headers=AUTH, timeout=5).json()["status"]


def test_a_new_alert_and_its_job_appear_and_finish_without_a_reload(page, stack, simulator):
    from playwright.sync_api import expect

    open_position(simulator)
    sign_in(page, stack)
    page.evaluate("window.stillTheSamePage = true")
    job_id = send(stack, id="browser-live-1").json()["job_id"]
    row = job_row(page, job_id)
    expect(row).to_be_visible(timeout=WAIT_MS)
    expect(row.locator(".badge")).to_have_text("finished", timeout=WAIT_MS)
    expect(row).to_contain_text("coinw")
    expect(row).to_contain_text("default")
    expect(row).to_contain_text("reverse")
    expect(row.locator('td[data-label="Started"]')).to_contain_text(" ms")
    signal = page.locator("#signals-body tr.accepted", has_text=job_id)
    expect(signal).to_be_visible(timeout=WAIT_MS)
    assert page.evaluate("window.stillTheSamePage") is True  # no reload happened


def test_a_failed_job_is_opened_replayed_after_a_confirmation_and_seen_to_finish(page, stack, simulator):
    from playwright.sync_api import expect

    sign_in(page, stack)
    job_id = send(stack, symbol="ETH", id="browser-fail-1").json()["job_id"]  # no ETH position: it fails
    row = job_row(page, job_id)
    expect(row.locator(".badge")).to_have_text("failed", timeout=WAIT_MS)
    row.get_by_role("button").first.click()
    detail = page.locator("#detail")
    expect(detail).to_be_visible()
    expect(detail).to_contain_text("PositionNotFound: CoinW has no open ETH position")
    open_position(simulator, instrument="ETH")  # the trader fixes the account, then replays
    page.get_by_role("button", name="Replay", exact=True).click()
    dialog = page.locator("dialog#confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("The venue answered before: it failed: PositionNotFound: CoinW has no open "
                                   "ETH position")
    dialog.get_by_role("button", name="Replay").click()
    expect(page.locator("#action-result")).to_contain_text(f"Replayed {job_id}", timeout=WAIT_MS)
    expect(page.locator("#detail-status")).to_have_text("finished", timeout=WAIT_MS)
    expect(detail).to_contain_text("Replays")
    expect(page.get_by_role("button", name="Force replay")).to_be_visible()
    assert job_status(stack, job_id) == "finished"


def test_without_a_session_nothing_of_the_jobs_shows(browser, stack, simulator):
    job_id = send(stack, id="browser-private-1").json()["job_id"]
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{stack.url}/dashboard")
    assert page.get_by_label("Admin token").is_visible()
    assert job_id not in page.content() and page.locator("#jobs-body").count() == 0
    statuses = page.evaluate("""async () => Promise.all(['/jobs', '/alerts', '/status', '/jobs/%s'].map(
        async (path) => (await fetch(path)).status))""" % job_id)
    assert statuses == [401, 401, 401, 401]
    context.close()


@pytest.fixture
def other_site(tmp_path):
    """A page on another origin (another port of this machine), served by a process of its own."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: _answers(f"http://127.0.0.1:{port}/"), 10)
        yield tmp_path, port
    finally:
        server.terminate()
        server.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code < 500
    except requests.RequestException:
        return False


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])  # same site, other origin; another site
def test_a_forged_cross_site_post_is_refused_and_replays_nothing(page, stack, simulator, other_site, host):
    from playwright.sync_api import expect

    sign_in(page, stack)
    job_id = send(stack, symbol="ETH", id=f"browser-forged-{host}").json()["job_id"]
    expect(job_row(page, job_id).locator(".badge")).to_have_text("failed", timeout=WAIT_MS)
    directory, port = other_site
    (directory / "forged.html").write_text(
        f'<form id="f" method="post" action="{stack.url}/jobs/{job_id}/replay">'
        '<input name="force" value="true"></form><script>document.getElementById("f").submit()</script>')
    with page.expect_response(lambda response: response.url.endswith("/replay")) as answered:
        page.goto(f"http://{host}:{port}/forged.html")
    assert answered.value.status in (401, 403)  # no cookie sent (another site), or refused as cross-origin
    if host == "127.0.0.1":
        assert answered.value.status == 403  # the cookie went along (same site): the origin check refused it
    assert requests.get(f"{stack.url}/jobs/{job_id}", headers=AUTH, timeout=5).json()["replays"] == []


def test_a_refused_alert_is_shown_with_its_reason_and_its_secret_nowhere(page, stack):
    from playwright.sync_api import expect

    sign_in(page, stack)
    wrong = "an-old-secret-4471"
    send(stack, secret=wrong, id="browser-wrong-secret")
    send(stack, symbol="{{ticker}}", id="browser-placeholder")
    page.locator("#outcome-filter").select_option("refused")
    placeholder = page.locator("#signals-body tr.refused", has_text="unrendered placeholder")
    expect(placeholder).to_be_visible(timeout=WAIT_MS)
    expect(placeholder).to_contain_text("The alert is invalid.")
    expect(placeholder).to_contain_text("400")
    wrong_secret = page.locator("#signals-body tr.refused", has_text="missing or wrong secret").first
    expect(wrong_secret).to_be_visible()
    for details in page.locator("#signals-body details").all():
        details.locator("summary").click()
    page.wait_for_timeout(100)  # let the opened details render before reading the page
    shown = page.content() + page.inner_text("body")
    assert WEBHOOK_SECRET not in shown and wrong not in shown
    alerts = requests.get(f"{stack.url}/alerts", params={"outcome": "refused"}, headers=AUTH, timeout=5).text
    assert WEBHOOK_SECRET not in alerts and wrong not in alerts


def test_the_page_fits_a_phone_screen(browser, stack, simulator):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, stack)
    send(stack, id="browser-phone-1")
    page.locator("#jobs-body tr").first.wait_for(timeout=WAIT_MS)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator('#jobs-body td[data-label="Status"]').first.is_visible()
    context.close()
