"""Which phones are proven to ring and by what each responder can be reached
(backend/delivery/reachability.py): the proof window, a real alert's receipt as proof, a flagged
device, reachable by push, text or nothing, counts per station and the filters; and the `proven`
of each device in the board's `board.devices` items."""

import datetime

import pytest
from django.utils import timezone

from backend.delivery.models import Delivery, Kind, PushDevice
from backend.delivery.reachability import (
    Reach,
    ReadinessFilters,
    build_readiness,
    proven_device_ids,
    readiness_of_responders,
)
from backend.delivery.receipts import funnels_of, token_for
from backend.delivery.subscriptions import subscribe_device
from backend.dispatch.actions import dispatch_incident, record_push_receipt
from backend.dispatch.payloads import board_devices_of
from tests.conftest import browser_subscription

DAY = datetime.timedelta(days=1)


def device_of(responder, label="phone", **fields) -> PushDevice:
    endpoint = f"https://fcm.googleapis.com/fcm/send/{responder.user.username}-{label}"
    subscribe_device(actor=responder.user, endpoint=endpoint, label=label, **browser_subscription(endpoint)["keys"])
    device = PushDevice.objects.get(user=responder.user, label=label)
    if fields:
        PushDevice.objects.filter(pk=device.pk).update(**fields)
        device.refresh_from_db()
    return device


def shown_through_the_receipt(device) -> datetime.datetime:
    """The phone's service worker shows the alert's push and posts its receipt, as pwa/sw.js does
    (the token of the push's first attempt); returns when the server recorded it."""
    delivery = Delivery.objects.get(device=device, kind=Kind.ALERT)
    Delivery.objects.filter(pk=delivery.pk).update(attempts=1)
    record_push_receipt(alert_id=delivery.alert_id, token=token_for(delivery.pk, 1), event="shown")
    return Delivery.objects.get(pk=delivery.pk).shown_at


def reach_of(responder, now=None) -> str:
    [readiness] = [r for r in readiness_of_responders(now=now) if r.responder.pk == responder.pk]
    return readiness.reachable_by


# --- The proof window ---------------------------------------------------------------------------


def test_it_counts_a_device_proven_within_the_window_and_not_after_it(alice):
    now = timezone.now()
    recent = device_of(alice, "recent", last_proven_at=now - 6 * DAY)
    stale = device_of(alice, "stale", last_proven_at=now - 8 * DAY)
    never = device_of(alice, "never")
    assert proven_device_ids([recent.pk, stale.pk, never.pk], now=now) == {recent.pk}


def test_the_window_is_the_setting(alice, settings):
    now = timezone.now()
    device = device_of(alice, last_proven_at=now - 4 * DAY)
    assert proven_device_ids([device.pk], now=now) == {device.pk}
    settings.READINESS_PROVEN_WITHIN_DAYS = 3
    assert proven_device_ids([device.pk], now=now) == set()


def test_a_real_alerts_receipt_proves_the_phone(incident, carol, alice):
    device = device_of(alice)
    dispatch_incident(actor=carol, incident_id=incident.pk)
    assert proven_device_ids([device.pk]) == set()
    shown = shown_through_the_receipt(device)
    assert proven_device_ids([device.pk]) == {device.pk}
    # Eight days on, the same receipt no longer counts.
    assert proven_device_ids([device.pk], now=shown + 8 * DAY) == set()


def test_a_device_that_failed_two_checks_since_its_proof_is_not_proven(incident, carol, alice):
    now = timezone.now()
    device = device_of(
        alice,
        last_proven_at=now - 2 * DAY,
        last_failure_at=now - DAY,
        last_failure_reason="No receipt within 2 minutes",
        failed_checks_in_a_row=2,
    )
    assert device.flagged
    assert proven_device_ids([device.pk], now=now) == set()
    # One failed check does not undo the proof.
    PushDevice.objects.filter(pk=device.pk).update(failed_checks_in_a_row=1)
    assert proven_device_ids([device.pk], now=now) == {device.pk}
    # Flagged again, then a real alert shown on it after the failure: proven again.
    PushDevice.objects.filter(pk=device.pk).update(failed_checks_in_a_row=2)
    dispatch_incident(actor=carol, incident_id=incident.pk)
    shown_through_the_receipt(device)
    assert proven_device_ids([device.pk]) == {device.pk}


def test_a_phone_that_blocked_notifications_since_its_proof_is_not_proven(alice):
    now = timezone.now()
    device = device_of(alice, last_proven_at=now - 2 * DAY, permission="denied", state_reported_at=now - DAY)
    assert proven_device_ids([device.pk], now=now) == set()
    # Blocked before, then shown a push: allowed again since (or the push would not have shown).
    PushDevice.objects.filter(pk=device.pk).update(state_reported_at=now - 3 * DAY)
    assert proven_device_ids([device.pk], now=now) == {device.pk}


# --- Reachable by -------------------------------------------------------------------------------


def test_a_responder_with_a_proven_phone_is_reachable_by_push(alice):
    device_of(alice, "old", last_proven_at=timezone.now() - 30 * DAY)
    device_of(alice, "new", last_proven_at=timezone.now() - DAY)
    assert reach_of(alice) == Reach.PUSH


def test_without_a_proven_phone_a_number_for_texts_makes_it_sms(alice, bob):
    alice.phone_number = "+447700900123"
    alice.save()
    device_of(alice, last_proven_at=timezone.now() - 30 * DAY)
    assert reach_of(alice) == Reach.SMS
    bob.phone_number = "   "
    bob.save()
    assert reach_of(bob) == Reach.NOTHING


def test_a_proven_phone_goes_before_the_text(alice):
    alice.phone_number = "+447700900123"
    alice.save()
    device_of(alice, last_proven_at=timezone.now())
    assert reach_of(alice) == Reach.PUSH


# --- Counts per station and filters -------------------------------------------------------------


@pytest.fixture
def crews(stations, alice, bob, erin, charlie, dave):
    """Norwich: alice on call with a proven phone, bob on call with a text number only, erin on call
    with nothing, and an off-call firefighter with a proven phone. Great Yarmouth: charlie on call
    with an unproven phone and nothing else. King's Lynn: dave off call."""
    from tests.conftest import make_firefighter

    now = timezone.now()
    device_of(alice, last_proven_at=now - DAY)
    bob.phone_number = "+447700900001"
    bob.save()
    device_of(erin, last_proven_at=now - 10 * DAY)
    off = make_firefighter("oscar", stations["norwich"], on_call=False)
    device_of(off, last_proven_at=now)
    device_of(charlie)
    dave.on_call = False
    dave.save()
    return {"off": off}


def test_it_counts_per_station_those_on_call_by_what_reaches_them(crews, stations):
    readiness = build_readiness(ReadinessFilters())
    rows = {row.station.name: row for row in readiness.by_station}
    norwich = rows["Norwich"]
    assert (norwich.responders, norwich.on_call) == (4, 3)
    assert (norwich.on_call_by_push, norwich.on_call_by_sms_only, norwich.on_call_by_nothing) == (1, 1, 1)
    yarmouth = rows["Great Yarmouth"]
    assert (yarmouth.on_call, yarmouth.on_call_by_push, yarmouth.on_call_by_nothing) == (1, 0, 1)
    lynn = rows["King's Lynn"]
    assert (lynn.responders, lynn.on_call, lynn.on_call_by_nothing) == (1, 0, 0)
    total = readiness.total
    assert (total.responders, total.on_call, total.on_call_by_push, total.on_call_by_nothing) == (6, 4, 1, 2)


def test_a_responder_whose_account_is_disabled_is_neither_listed_nor_counted(crews, stations):
    """A disabled account is never alerted (dispatch selects active users only), so it is no one a
    coordinator can count on or needs to chase (found trying the demo: the pilot year's
    firefighters, who cannot log in, filled the page)."""
    from tests.conftest import make_firefighter

    gone = make_firefighter("gone", stations["norwich"], on_call=True)
    gone.user.is_active = False
    gone.user.save()
    readiness = build_readiness(ReadinessFilters())
    assert "gone" not in {r.responder.user.username for r in readiness.responders}
    assert (readiness.total.responders, readiness.total.on_call) == (6, 4)


def test_the_filters_narrow_the_list_not_the_counts(crews, stations):
    def names(readiness):
        return [r.responder.user.username for r in readiness.responders]

    everyone = build_readiness(ReadinessFilters())
    assert sorted(names(everyone)) == ["alice", "bob", "charlie", "dave", "erin", "oscar"]
    not_proven = build_readiness(ReadinessFilters(not_proven_only=True))
    assert sorted(names(not_proven)) == ["bob", "charlie", "dave", "erin"]
    on_call_not_proven = build_readiness(ReadinessFilters(on_call_only=True, not_proven_only=True))
    assert sorted(names(on_call_not_proven)) == ["bob", "charlie", "erin"]
    assert on_call_not_proven.total.on_call_by_push == 1  # alice still counted
    norwich = build_readiness(ReadinessFilters(station=stations["norwich"], not_proven_only=True))
    assert sorted(names(norwich)) == ["bob", "erin"]
    assert [row.station.name for row in norwich.by_station] == ["Norwich"]


def test_it_reads_every_responder_in_two_queries(crews, django_assert_num_queries):
    with django_assert_num_queries(2):
        readiness_of_responders()


# --- The board's `proven` -----------------------------------------------------------------------


def test_board_devices_say_which_phones_are_proven(incident, carol, alice, bob):
    proven = device_of(alice, "proven", last_proven_at=timezone.now() - DAY)
    device_of(alice, "unproven")
    device_of(bob, "stale", last_proven_at=timezone.now() - 9 * DAY)
    alerts = dispatch_incident(actor=carol, incident_id=incident.pk)
    items = {item["responder_id"]: item for item in board_devices_of(alerts)}
    assert {d["label"]: d["proven"] for d in items[alice.pk]["devices"]} == {"proven": True, "unproven": False}
    assert {d["label"]: d["proven"] for d in items[bob.pk]["devices"]} == {"stale": False}
    # Showing this alert proves bob's phone.
    Delivery.objects.filter(device__user=bob.user, kind=Kind.ALERT).update(shown_at=timezone.now())
    [bobs] = [alert for alert in alerts if alert.responder_id == bob.pk]
    [stale] = funnels_of([bobs.pk])[bobs.pk]
    assert stale.as_payload()["proven"] is True
    assert proven.pk in proven_device_ids([proven.pk])
