"""The coordinators' live board says, in a real browser, which alerted responders have no phone
proven to ring (issue 13, item 5): two North Walsham firefighters each register a phone (a
subscription of the push-service stand-in); one phone showed a push yesterday, the other never
has. Alerted to an incident, the card says "1 of 2 alerted has no proven phone" and marks the
second firefighter; when the second phone's service worker sends its receipt for this alert's
push, the warning goes, live. The readiness page lists both, one reachable by push and one not."""

import re
import uuid

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.conftest import ApiUser
from tests.e2e.helpers import log_in, pass_the_second_factor, watch_for_problems
from tests.e2e.test_accessibility import AXE, DESK, blocking_violations, describe
from tests.e2e.test_board_coverage import create
from tests.support.push_service import push_service  # noqa: F401 (a fixture)

BOARD_PAGE = "/admin/dispatch/incident/board/"
READINESS_PAGE = "/admin/readiness/"
# North Walsham's first and third firefighters: no other browser test alerts them.
FIREFIGHTERS = ("ff.north-walsham.1", "ff.north-walsham.3")
NEAR_NORTH_WALSHAM = (52.8220, 1.3900)
ADDRESS = "5 Market Place, North Walsham"

PROVEN_YESTERDAY = """
import datetime
from django.utils import timezone
from backend.delivery.models import PushDevice
PushDevice.objects.filter(subscription__endpoint={endpoint!r}).update(
    last_proven_at=timezone.now() - datetime.timedelta(days=1))
print("ok")
"""
FORGET_PHONES = """
from webpush.models import SubscriptionInfo
SubscriptionInfo.objects.filter(endpoint__in={endpoints!r}).delete()
print("ok")
"""


@pytest.fixture
def desk(chromium, server):
    context = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    log_in(context, "coordinator")
    assert pass_the_second_factor(context, server) == []
    yield context
    context.close()


def has_class(name: str) -> re.Pattern:
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


@pytest.fixture
def phones(server, push_service):  # noqa: F811
    """Two subscriptions of the stand-in, forgotten by the server at the end (the stand-in goes
    with this test: later tests' pushes to them would only fail)."""
    subscriptions = [push_service.subscribe(), push_service.subscribe()]
    yield subscriptions
    endpoints = [subscription["endpoint"] for subscription in subscriptions]
    server.manage("shell", "-c", FORGET_PHONES.format(endpoints=endpoints))


def register_phone(firefighter: ApiUser, subscription: dict) -> None:
    firefighter.post("/api/v1/push-subscriptions/", {**subscription, "label": "Phone"})


def send_receipt(server, push) -> None:
    """What the phone's service worker does once it has shown the push (pwa/sw.js)."""
    response = requests.post(
        f"{server.url}/api/v1/push-receipts/",
        json={"alert_id": push.json["alert_id"], "token": push.json["receipt"], "event": "shown"},
        headers={"Origin": server.url},
        timeout=10,
    )
    assert response.status_code == 204, f"receipt: {response.status_code} {response.text}"


def test_the_board_marks_alerted_responders_with_no_proven_phone_until_one_shows_the_alert(
    desk,
    dispatcher,
    server,
    phones,
    push_service,  # noqa: F811
):
    proven, unproven = (ApiUser(server.url, username) for username in FIREFIGHTERS)
    proven_phone, unproven_phone = phones
    register_phone(proven, proven_phone)
    register_phone(unproven, unproven_phone)
    assert server.manage("shell", "-c", PROVEN_YESTERDAY.format(endpoint=proven_phone["endpoint"])).split()[-1] == "ok"

    page = desk.new_page()
    problems = watch_for_problems(page)
    page.goto(BOARD_PAGE)
    expect(page.locator(".board-connection--live")).to_be_visible()

    reference = f"E2E-UNPROVEN-{uuid.uuid4().hex[:8]}"
    incident = create(dispatcher, reference, NEAR_NORTH_WALSHAM, ADDRESS, crew_target=2)
    incident = dispatcher.coordinator.post(
        f"/api/v1/incidents/{incident['id']}/dispatch/",
        {"responder_ids": [proven.profile["responder"]["id"], unproven.profile["responder"]["id"]]},
    )
    alert_of = {alert["responder_id"]: alert for alert in incident["alerts"]}
    unproven_alert = alert_of[unproven.profile["responder"]["id"]]
    proven_alert = alert_of[proven.profile["responder"]["id"]]

    card = page.locator(f'section[data-incident-id="{incident["id"]}"]')
    warning = card.locator(".board-unproven")
    expect(warning).to_have_text(f"1 of 2 alerted has no proven phone: {unproven_alert['responder_name']}.")
    unproven_row = card.locator(f'tr[data-alert-id="{unproven_alert["id"]}"]')
    expect(unproven_row).to_have_class(has_class("board-alert--unproven"))
    expect(unproven_row.locator(".board-unproven-mark")).to_have_text("none proven to ring")
    proven_row = card.locator(f'tr[data-alert-id="{proven_alert["id"]}"]')
    expect(proven_row).not_to_have_class(has_class("board-alert--unproven"))

    # The unproven phone gets this alert's push and its service worker says it showed it.
    [push] = push_service.wait_for(1, timeout=15, endpoint=unproven_phone)
    assert push.json["alert_id"] == unproven_alert["id"]
    send_receipt(server, push)
    expect(warning).to_have_count(0)
    expect(unproven_row).not_to_have_class(has_class("board-alert--unproven"))
    expect(unproven_row.locator(".board-devices")).to_contain_text("Shown on 1 of 1 phone")

    # A reload starts from the snapshot, which knows the same.
    page.reload()
    expect(page.locator(".board-connection--live")).to_be_visible()
    expect(card.locator(".board-alerts")).to_be_visible()
    # What the rows' order means, said above them (it was taken for nearest first).
    expect(card.locator(".board-order")).to_have_text("In the order alerted (nearest first within each dispatch)")
    expect(card.locator(".board-unproven")).to_have_count(0)
    assert problems == []


def test_a_responder_with_no_push_phone_who_sees_the_alert_in_the_open_app_is_not_counted(desk, dispatcher, server):
    """Found by trying the product: a firefighter answering in the open app, with no push
    subscription, stayed in "has no proven phone" and read "No phone for alerts" beside
    "Accepted". Once their app shows the alert (what it tells the server as it puts it on screen),
    the board counts them as reached and says where they saw it."""
    firefighter = ApiUser(server.url, FIREFIGHTERS[1])
    page = desk.new_page()
    problems = watch_for_problems(page)
    page.goto(BOARD_PAGE)
    expect(page.locator(".board-connection--live")).to_be_visible()

    reference = f"E2E-INAPP-{uuid.uuid4().hex[:8]}"
    incident = create(dispatcher, reference, NEAR_NORTH_WALSHAM, ADDRESS, crew_target=1)
    incident = dispatcher.coordinator.post(
        f"/api/v1/incidents/{incident['id']}/dispatch/", {"responder_ids": [firefighter.profile["responder"]["id"]]}
    )
    [alert] = incident["alerts"]
    card = page.locator(f'section[data-incident-id="{incident["id"]}"]')
    row = card.locator(f'tr[data-alert-id="{alert["id"]}"]')
    warning = f"1 of 1 alerted has no proven phone: {alert['responder_name']}."
    expect(card.locator(".board-unproven")).to_have_text(warning)
    expect(row.locator(".board-devices")).to_have_text("No phone for alerts")

    # The open app puts the alert on screen and says so (pwa/app/sync.js), then accepts it.
    firefighter.post(f"/api/v1/alerts/{alert['id']}/respond/", {"response": "received"})
    expect(card.locator(".board-unproven")).to_have_count(0)
    expect(row).not_to_have_class(has_class("board-alert--unproven"))
    expect(row.locator(".board-devices")).to_have_text("Seen in the open app")
    closed_app = re.compile(r"with the app closed, a new alert would not reach them")
    expect(row.locator(".board-devices")).to_have_attribute("title", closed_app)
    firefighter.post(f"/api/v1/alerts/{alert['id']}/respond/", {"response": "accept"})
    expect(row.locator(".board-state")).to_contain_text("Accepted")
    expect(card.locator(".board-unproven")).to_have_count(0)

    page.reload()  # the snapshot says the same
    expect(page.locator(".board-connection--live")).to_be_visible()
    expect(row.locator(".board-devices")).to_have_text("Seen in the open app")
    expect(card.locator(".board-unproven")).to_have_count(0)
    assert problems == []


def test_the_readiness_page_lists_who_a_dispatch_would_reach_by_what(desk):
    page = desk.new_page()
    problems = watch_for_problems(page)
    page.goto("/admin/")
    page.locator("#readiness-module a.section").click()
    expect(page).to_have_url(re.compile(re.escape(READINESS_PAGE)))
    expect(page.locator("#readiness-counts")).to_be_visible()
    page.get_by_label("Station").select_option(label="North Walsham")
    page.get_by_label("On call now only").check()
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#responders-heading")).to_have_text("3 responders at North Walsham, on call now")
    assert problems == []


# --- The readiness page under axe, light and dark -------------------------------------------------

SOME_READINESS = """
import datetime
from django.utils import timezone
from webpush.models import SubscriptionInfo
from backend.accounts.models import Responder
from backend.delivery.models import PushDevice
now = timezone.now()
for username, label, fields in [
    ("ff.north-walsham.1", "Work phone", dict(platform="android", installed=True, permission="granted",
                                               last_proven_at=now - datetime.timedelta(days=2))),
    ("ff.north-walsham.3", "iPhone", dict(platform="ios", installed=False, permission="denied",
                                          last_failure_at=now, failed_checks_in_a_row=2,
                                          last_failure_reason="no receipt within 2 minutes")),
]:
    responder = Responder.objects.get(user__username=username)
    subscription = SubscriptionInfo.objects.create(endpoint=f"https://fcm.googleapis.com/fcm/send/a11y-{username}",
                                                   p256dh="x", auth="y")
    PushDevice.objects.create(subscription=subscription, user=responder.user, label=label, **fields)
Responder.objects.filter(user__username="ff.north-walsham.2").update(phone_number="+447700900999")
print("ok")
"""
FORGET_SOME_READINESS = """
from webpush.models import SubscriptionInfo
from backend.accounts.models import Responder
forgotten = SubscriptionInfo.objects.filter(endpoint__contains="/a11y-ff.north-walsham.").delete()[1]
Responder.objects.filter(user__username="ff.north-walsham.2").update(phone_number="")
print(forgotten.get("webpush.SubscriptionInfo", 0))
"""


@pytest.fixture
def some_readiness(server):
    """North Walsham: a proven phone, a phone failing its checks, and a number for texts."""
    assert server.manage("shell", "-c", SOME_READINESS).split()[-1] == "ok"
    yield
    # Forgotten again, so that no later test alerts North Walsham's phones.
    assert server.manage("shell", "-c", FORGET_SOME_READINESS).split()[-1] == "2"


@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed: run `make e2e-tools` (npm ci in tests/e2e/)")
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_readiness_page_has_no_serious_accessibility_violation(chromium, server, some_readiness, scheme):
    context = chromium.new_context(base_url=server.url, bypass_csp=True, color_scheme=scheme, **DESK)
    context.set_default_timeout(10_000)
    try:
        log_in(context, "coordinator")
        assert pass_the_second_factor(context, server) == []
        page = context.new_page()
        page.goto(f"{READINESS_PAGE}?station=&on_call=on")
        walsham = page.locator("#readiness-responders tbody tr", has_text="North Walsham")
        expect(walsham.locator(".readiness-reach--push")).to_have_count(1)
        expect(walsham.locator(".readiness-reach--sms")).to_have_count(1)
        expect(walsham.filter(has_text="Failed twice in a row: no receipt within 2 minutes")).to_have_count(1)
        violations = blocking_violations(page)
        assert not violations, f"axe-core on the readiness page ({scheme}):\n{describe(violations)}"
    finally:
        context.close()
