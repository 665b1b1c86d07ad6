"""The coordinators' admin works in a real browser under its Content-Security-Policy
(backend/headers.py): no page is refused a script, a style or its live board's socket."""

import pytest

from tests.e2e.helpers import log_in, pass_the_second_factor, watch_for_problems

PAGES = [
    "/admin/",
    "/admin/dispatch/incident/",
    "/admin/dispatch/incident/add/",
    "/admin/dispatch/alert/",
    "/admin/checklists/onsceneevent/",
    "/admin/accounts/responder/",
    "/admin/records/attendance/",
    "/admin/records/outcome/",
    "/admin/audit/auditentry/",
    "/admin/reports/",
]


@pytest.fixture
def desk(chromium, server):
    context = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    log_in(context, "coordinator")
    assert pass_the_second_factor(context, server) == []
    yield context
    context.close()


def test_the_admin_pages_load_with_nothing_refused(desk):
    page = desk.new_page()
    problems = watch_for_problems(page)

    for path in PAGES:
        response = page.goto(path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        # Its own budget, wider than the context's 10 s: the ten pages' twenty-odd files each come
        # from one daphne process shared with the other browser tests, and under make test's full
        # load one page's files have taken longer than 10 s (CI on 7449a0c) with nothing refused.
        page.wait_for_load_state("networkidle", timeout=30_000)

    assert problems == []


def test_the_live_board_connects_its_socket(desk):
    page = desk.new_page()
    problems = watch_for_problems(page)

    with page.expect_websocket(lambda socket: socket.url.endswith("/ws/coordinator/")) as opened:
        page.goto("/admin/dispatch/incident/board/")
    socket = opened.value
    first_frame = socket.wait_for_event("framereceived")

    assert '"board.snapshot"' in first_frame
    assert problems == []
