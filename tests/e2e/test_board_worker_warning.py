"""The coordinators' live board warns, in a real browser, when no delivery worker has reported
recently (pushes are not being sent), and clears the warning once one reports; the control room's
board (/board/) sounds and flashes it as an alarm until a coordinator acknowledges it.

This needs a server without the delivery worker inside it (the suite's `server` runs one), so it
starts its own: `manage.py serve` with DELIVERY_WORKER_EMBEDDED off, on its own SQLite database,
with the board checking the heartbeats twice a second."""

import pytest
from playwright.sync_api import expect

from backend import health
from tests.e2e.conftest import demo_server
from tests.e2e.helpers import log_in, pass_the_second_factor, watch_for_problems
from tests.e2e.test_wall_board import ANIMATIONS, desk_context, has_class, open_board
from tests.support import live_server

BOARD_PAGE = "/admin/dispatch/incident/board/"
# Long enough for a `manage.py shell` to write a heartbeat and the board's next check to see it.
WARNING_CHANGES_WITHIN_MS = 10_000

# What a delivery worker does every few seconds.
HEARTBEAT = """
from django.utils import timezone
from backend.delivery.sending import record_heartbeat
record_heartbeat("e2e-worker", started_at=timezone.now())
"""

# The worker then stops: its last heartbeat is a minute older than /healthz tolerates.
LONG_AGO_S = health.WORKER_STALE_AFTER.total_seconds() + 60
HEARTBEAT_GONE_STALE = f"""
import datetime
from django.utils import timezone
from backend.delivery.models import WorkerHeartbeat
WorkerHeartbeat.objects.update(last_seen_at=timezone.now() - datetime.timedelta(seconds={LONG_AGO_S}))
"""


@pytest.fixture(scope="module")
def server_without_worker(server, tmp_path_factory, demo_database_template):
    """Like the suite's `server` (whose settings it copies), but with no delivery worker."""
    directory = tmp_path_factory.mktemp("server-without-worker")
    port = live_server.free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **server.env,
        "SQLITE_PATH": str(directory / "db.sqlite3"),
        "DJANGO_ALLOWED_ORIGINS": url,
        "PUBLIC_BASE_URL": url,
        "DELIVERY_WORKER_EMBEDDED": "false",
        "BOARD_WORKER_CHECK_SECONDS": "0.5",
    }
    with demo_server(directory, port, env, demo_database_template) as live:
        yield live


@pytest.fixture
def desk(chromium, server_without_worker):
    context = chromium.new_context(
        base_url=server_without_worker.url, viewport={"width": 1280, "height": 900}, locale="en-GB"
    )
    context.set_default_timeout(10_000)
    log_in(context, "coordinator")
    pass_the_second_factor(context, server_without_worker)
    yield context
    context.close()


def test_the_board_warns_while_no_delivery_worker_reports(desk, server_without_worker):
    page = desk.new_page()
    problems = watch_for_problems(page)
    page.goto(BOARD_PAGE)
    warning = page.get_by_role("alert").filter(has_text="Pushes are not being sent")

    expect(warning).to_be_visible()
    expect(warning).to_contain_text("No delivery worker has reported.")
    expect(warning).to_contain_text("Tell the on-call engineer.")

    server_without_worker.manage("shell", "-c", HEARTBEAT)
    expect(warning).to_have_count(0, timeout=WARNING_CHANGES_WITHIN_MS)
    expect(page.locator(".board-connection--live")).to_be_visible()

    server_without_worker.manage("shell", "-c", HEARTBEAT_GONE_STALE)
    expect(warning).to_be_visible(timeout=WARNING_CHANGES_WITHIN_MS)
    expect(warning).to_contain_text("No delivery worker has reported since")
    assert problems == []


def test_the_wall_board_sounds_and_flashes_the_workers_alarm_until_acknowledged(chromium, server_without_worker):
    """Found by an audit: the alarm sounded but never flashed (the flash was on incidents' cards
    only), and with no incident chosen `a` was the only way to it from the keyboard."""
    context = desk_context(chromium, server_without_worker, "720p")
    try:
        page, problems = open_board(context)
        page.get_by_role("button", name="Turn on alarm sound").click()
        alarm = page.locator(".wall-system-alarm")
        expect(alarm).to_contain_text("Pushes are not being sent")
        expect(alarm).to_have_class(has_class("wall-system-alarm--sounding"))
        expect(page.locator("body")).to_have_attribute("data-audio", "playing")
        assert alarm.evaluate(ANIMATIONS) == ["wall-flash"]

        page.locator("body").press("a")  # no incident chosen: the workers' alarm
        expect(alarm).not_to_have_class(has_class("wall-system-alarm--sounding"))
        expect(alarm.locator(".wall-card-alarm--acknowledged")).to_contain_text("acknowledged by")
        expect(page.locator("body")).to_have_attribute("data-audio", "on")
        assert alarm.evaluate(ANIMATIONS) == []
        expect(page.locator(".wall-done")).to_contain_text("Acknowledged: Pushes are not being sent")
        # Nothing left sounding: `a` says so rather than doing nothing in silence.
        page.keyboard.press("a")
        expect(page.locator(".wall-note")).to_have_text("No alarm is sounding: nothing to acknowledge.")
        assert problems == []
    finally:
        context.close()
