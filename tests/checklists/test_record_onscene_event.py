"""record_onscene_event: the checklist's one-tap timestamps, recorded once per key, on the crew
member's own alert, while the alert can still take them."""

import contextlib
import datetime
import os
import threading
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from backend.checklists import actions
from backend.checklists.actions import onscene_events_of, record_onscene_event
from backend.checklists.models import OnSceneEvent
from backend.dispatch.actions import cancel_incident, close_incident, dispatch_incident, respond_to_alert, stand_down
from backend.errors import Conflict, InvalidInput, NotAllowed, NotFound

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def alerts(incident, carol, alice, bob):
    return {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}


@pytest.fixture
def alert(alerts):
    """Alice's alert, accepted and on scene."""
    alert = alerts["alice"]
    for response in ("accept", "on_scene"):
        respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response=response)
    alert.refresh_from_db()
    return alert


def record(alert, type="cpr_started", *, key=None, occurred_at=None, data=None, actor=None):
    return record_onscene_event(
        actor=actor or alert.responder.user,
        alert_id=alert.pk,
        idempotency_key=key or uuid.uuid4(),
        type=type,
        occurred_at=occurred_at or timezone.now(),
        data=data,
    )


# --- Recording, once per key ----------------------------------------------------------------------------


def test_it_records_an_event_with_the_phones_time_and_the_servers(alert):
    occurred_at = timezone.now() - 2 * MINUTE
    key = uuid.uuid4()

    event, created = record(alert, "shock", key=key, occurred_at=occurred_at, data={"shock_number": 1})

    assert created is True
    stored = OnSceneEvent.objects.get()
    assert (stored.pk, stored.alert_id, stored.idempotency_key) == (event.pk, alert.pk, key)
    assert (stored.type, stored.occurred_at, stored.data) == ("shock", occurred_at, {"shock_number": 1})
    assert timezone.now() - stored.received_at < MINUTE
    assert len(stored.body_hash) == 64


def test_a_retry_returns_the_stored_event_and_creates_nothing(alert):
    key, occurred_at = uuid.uuid4(), timezone.now()
    first, _ = record(alert, "pads_on", key=key, occurred_at=occurred_at)

    again, created = record(alert, "pads_on", key=key, occurred_at=occurred_at)

    assert created is False
    assert again.pk == first.pk
    assert OnSceneEvent.objects.count() == 1


def test_the_same_instant_with_another_offset_and_data_in_another_order_is_the_same_event(alert):
    key = uuid.uuid4()
    occurred_at = timezone.now().replace(microsecond=0)
    record(alert, "shock", key=key, occurred_at=occurred_at, data={"shock_number": 2, "patient": "adult"})
    summer_time = occurred_at.astimezone(datetime.timezone(datetime.timedelta(hours=1)))

    _, created = record(alert, "shock", key=key, occurred_at=summer_time, data={"patient": "adult", "shock_number": 2})

    assert created is False


@pytest.mark.parametrize(
    "change",
    [{"type": "rosc"}, {"occurred_at": 1}, {"data": {"shock_number": 3}}],
    ids=["another type", "another time", "other data"],
)
def test_it_refuses_a_key_reused_for_a_different_event(alert, change):
    key, occurred_at = uuid.uuid4(), timezone.now() - 5 * MINUTE
    first, _ = record(alert, "shock", key=key, occurred_at=occurred_at, data={"shock_number": 2})
    submission = {"type": "shock", "occurred_at": occurred_at, "data": {"shock_number": 2}}
    if "occurred_at" in change:
        change = {"occurred_at": occurred_at + datetime.timedelta(seconds=change["occurred_at"])}
    submission.update(change)

    with pytest.raises(Conflict) as refused:
        record(alert, key=key, **submission)

    assert "already used for a different event" in refused.value.message
    assert refused.value.fields == {"idempotency_key": ["Already used for a different event."]}
    assert refused.value.extra == {"existing_event_id": first.pk}
    assert OnSceneEvent.objects.count() == 1


def test_a_key_belongs_to_one_alert(alert, carol, alice):
    from backend.dispatch.actions import create_incident

    other = create_incident(
        actor=carol, cad_reference="EEAST-0002", latitude=52.63, longitude=1.29, address="Elsewhere"
    )
    # Alice is on scene at the first incident: only a coordinator naming her alerts her to another.
    [second_alert] = dispatch_incident(actor=carol, incident_id=other.pk, responder_ids=[alice.pk])
    key, occurred_at = uuid.uuid4(), timezone.now()
    record(alert, key=key, occurred_at=occurred_at)

    _, created = record(second_alert, key=key, occurred_at=occurred_at)

    assert created is True
    assert OnSceneEvent.objects.count() == 2


def test_a_submission_that_loses_a_race_to_its_copy_returns_the_copy(alert, monkeypatch):
    """Two copies of one submission both find no stored event, both insert: the unique constraint
    stops the second, which then answers with the first. Simulated here by hiding the first copy
    from the second's look-up; the real thing is below, on PostgreSQL."""
    key, occurred_at = uuid.uuid4(), timezone.now()
    first, _ = record(alert, "arrived", key=key, occurred_at=occurred_at)
    lookups = hide_the_stored_event_from_the_first_lookup(monkeypatch)

    again, created = record(alert, "arrived", key=key, occurred_at=occurred_at)

    assert (again.pk, created) == (first.pk, False)
    assert OnSceneEvent.objects.count() == 1
    assert lookups == ["hidden", "found"], "the insert must have hit the unique constraint"


def test_a_losing_copy_with_a_different_body_is_still_a_conflict(alert, monkeypatch):
    key = uuid.uuid4()
    record(alert, "arrived", key=key)
    lookups = hide_the_stored_event_from_the_first_lookup(monkeypatch)

    with pytest.raises(Conflict):
        record(alert, "handover", key=key)
    assert lookups == ["hidden", "found"]


def hide_the_stored_event_from_the_first_lookup(monkeypatch) -> list[str]:
    real_lookup = actions._stored
    lookups = []

    def lookup(alert, key):
        if not lookups:
            lookups.append("hidden")
            return None
        found = real_lookup(alert, key)
        lookups.append("found" if found else "none")
        return found

    monkeypatch.setattr(actions, "_stored", lookup)
    return lookups


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
    reason="needs PostgreSQL: SQLite takes its write lock at BEGIN, so two writers can never race",
)
@pytest.mark.django_db(transaction=True)
def test_two_identical_submissions_at_once_create_one_event(incident, carol, alice):
    """Really at once, on two connections: both look up, find nothing, and insert."""
    [alert] = dispatch_incident(actor=carol, incident_id=incident.pk)
    key, occurred_at = uuid.uuid4(), timezone.now()
    looked_up = threading.Barrier(2, timeout=10)
    real_lookup = actions._stored
    results, errors = [], []

    def lookup_then_wait(alert, key):
        found = real_lookup(alert, key)
        if found is None:
            # Both have looked and found nothing: now both insert. (Were a third look-up to find
            # nothing, the barrier would time out and break rather than hang the test.)
            with contextlib.suppress(threading.BrokenBarrierError):
                looked_up.wait()
        return found

    def submit():
        try:
            results.append(record(alert, "cpr_started", key=key, occurred_at=occurred_at))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    actions._stored, restore = lookup_then_wait, actions._stored
    try:
        threads = [threading.Thread(target=submit) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
    finally:
        actions._stored = restore

    assert errors == []
    assert sorted(created for _, created in results) == [False, True]
    assert len({event.pk for event, _ in results}) == 1
    assert OnSceneEvent.objects.count() == 1


# --- What is accepted ----------------------------------------------------------------------------------


def test_it_refuses_a_type_the_checklist_does_not_have(alert):
    with pytest.raises(InvalidInput) as refused:
        record(alert, "coffee_break")
    assert "arrived, cpr_started" in refused.value.fields["type"][0]
    assert not OnSceneEvent.objects.exists()


@pytest.mark.parametrize(
    ("type", "data", "field"),
    [
        ("shock", {"shock_number": 0}, "data.shock_number"),
        ("shock", {"shock_number": "2"}, "data.shock_number"),
        ("shock", {"shock_number": True}, "data.shock_number"),
        ("cpr_started", {"shock_number": 1}, "data.shock_number"),
        ("arrived", {"patient": "baby"}, "data.patient"),
        ("analysis", {"advice": "maybe"}, "data.advice"),
        ("arrived", {"name": "John Smith"}, "data.name"),
    ],
    ids=[
        "shock 0",
        "shock as text",
        "shock as boolean",
        "shock on another event",
        "bad patient",
        "bad advice",
        "free text",
    ],
)
def test_it_refuses_data_the_checklist_does_not_allow(alert, type, data, field):
    with pytest.raises(InvalidInput) as refused:
        record(alert, type, data=data)
    assert list(refused.value.fields) == [field]


def test_it_accepts_the_data_the_checklist_allows(alert):
    record(alert, "analysis", data={"advice": "shock_advised", "patient": "child"})
    record(alert, "shock", data={"shock_number": 99, "patient": "child"})
    assert OnSceneEvent.objects.count() == 2


@pytest.mark.parametrize("patient", ["adult", "child", "infant"])
def test_it_records_which_variant_of_the_checklist_the_crew_chose(alert, patient):
    event, _ = record(alert, "arrived", data={"patient": patient})
    assert OnSceneEvent.objects.get(pk=event.pk).data == {"patient": patient}


def test_it_accepts_a_phone_clock_up_to_5_minutes_fast(alert):
    _, created = record(alert, occurred_at=timezone.now() + 4 * MINUTE + datetime.timedelta(seconds=50))
    assert created


def test_it_refuses_a_time_more_than_5_minutes_in_the_future(alert):
    with pytest.raises(InvalidInput) as refused:
        record(alert, occurred_at=timezone.now() + 5 * MINUTE + datetime.timedelta(seconds=10))
    assert "future" in refused.value.fields["occurred_at"][0]


def test_it_accepts_a_time_up_to_an_hour_before_the_alert(alert):
    _, created = record(alert, occurred_at=alert.alerted_at - 59 * MINUTE)
    assert created


def test_it_refuses_a_time_more_than_an_hour_before_the_alert(alert):
    with pytest.raises(InvalidInput) as refused:
        record(alert, occurred_at=alert.alerted_at - 61 * MINUTE)
    assert "before the alert" in refused.value.fields["occurred_at"][0]


def test_it_caps_the_events_of_one_alert(alert, monkeypatch):
    monkeypatch.setattr(actions, "MAX_EVENTS_PER_ALERT", 2)
    record(alert, "analysis")
    second, _ = record(alert, "analysis")

    with pytest.raises(Conflict):
        record(alert, "analysis")
    assert record(alert, "analysis", key=second.idempotency_key, occurred_at=second.occurred_at)[1] is False


# --- Whose, and when --------------------------------------------------------------------------------------


def test_it_records_only_on_the_firefighters_own_alert(alerts, alice, bob, carol):
    with pytest.raises(NotFound):
        record(alerts["bob"], actor=alice.user)
    with pytest.raises(NotAllowed):
        record(alerts["alice"], actor=carol)
    with pytest.raises(NotFound):
        onscene_events_of(actor=alice.user, alert_id=alerts["bob"].pk)
    assert not OnSceneEvent.objects.exists()


def test_it_records_before_the_firefighter_has_answered(alerts):
    """A crew that went without pressing accept still logs what they did."""
    _, created = record(alerts["alice"], "arrived")
    assert created


def test_it_records_after_the_incident_was_cancelled(alert, carol, incident):
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")
    _, created = record(alert, "handover")
    assert created


def test_it_refuses_an_alert_cancelled_before_arriving(alerts, carol, incident):
    alert = alerts["alice"]
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="accept")
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")

    with pytest.raises(Conflict) as refused:
        record(alert, "arrived")

    assert refused.value.message == (
        "You cannot record on-scene events for this alert: the incident was cancelled before you arrived."
    )
    assert refused.value.extra == {"state": "cancelled"}


def test_it_records_taps_from_before_the_cancel_synced_later(alerts, carol, incident):
    alert = alerts["alice"]
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="accept")
    arrived_at = timezone.now() - MINUTE
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")

    assert record(alert, "arrived", occurred_at=arrived_at)[1] is True
    assert record(alert, "handover")[1] is True  # the crew was there: what follows counts too


def test_it_records_after_the_crew_was_cleared(alert, carol, incident):
    close_incident(actor=carol, incident_id=incident.pk)
    alert.refresh_from_db()
    assert alert.state == "cleared"
    _, created = record(alert, "handover")
    assert created


def test_it_refuses_an_alert_the_firefighter_declined(alerts):
    alert = alerts["alice"]
    tapped_before_declining = timezone.now() - MINUTE
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="decline", reason="too_far")

    for occurred_at in (timezone.now(), tapped_before_declining):
        with pytest.raises(Conflict) as refused:
            record(alert, "arrived", occurred_at=occurred_at)
        assert "you declined it" in refused.value.message
        assert refused.value.extra == {"state": "declined"}
    assert not OnSceneEvent.objects.exists()


def test_accepting_again_after_declining_reopens_the_alert_to_events(alerts):
    alert = alerts["alice"]
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="decline", reason="too_far")
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="accept")

    assert record(alert, "arrived")[1] is True


def test_it_refuses_an_alert_stood_down_before_arriving(alerts, carol, incident):
    alert = alerts["alice"]
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="accept")
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert.pk])

    with pytest.raises(Conflict) as refused:
        record(alert, "arrived")

    assert "stood down before you arrived" in refused.value.message


def test_it_records_on_an_alert_stood_down_after_arriving(alert, carol, incident):
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert.pk])
    _, created = record(alert, "handover")
    assert created


def test_it_records_taps_from_before_the_stand_down_synced_later(alerts, carol, incident):
    """The crew arrived without pressing "on scene", tapped the checklist with no signal, and was
    stood down when the incident closed: what they tapped still counts, and so does what follows."""
    alert = alerts["alice"]
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="accept")
    arrived_at = timezone.now() - MINUTE
    close_incident(actor=carol, incident_id=incident.pk)
    alert.refresh_from_db()
    assert (alert.state, alert.on_scene_at) == ("stood_down", None)

    assert record(alert, "arrived", occurred_at=arrived_at)[1] is True
    assert record(alert, "handover")[1] is True


def test_a_retry_is_answered_even_once_the_alert_takes_no_more(alerts, carol, incident):
    alert = alerts["alice"]
    key, occurred_at = uuid.uuid4(), timezone.now() + MINUTE  # a phone clock a little fast
    # Tapped before accepting: on an alert accepted or en route, a tap is an arrival
    # (test_checklist_arrival.py), and one who arrived takes events after a stand-down.
    first, _ = record(alert, "arrived", key=key, occurred_at=occurred_at)
    respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="accept")
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert.pk])

    with pytest.raises(Conflict):
        record(alert, "handover", occurred_at=occurred_at)  # a new event is refused now

    again, created = record(alert, "arrived", key=key, occurred_at=occurred_at)

    assert (again.pk, created) == (first.pk, False)


def test_it_lists_an_alerts_events_in_the_order_they_happened(alert):
    now = timezone.now()
    record(alert, "pads_on", occurred_at=now - MINUTE)
    record(alert, "arrived", occurred_at=now - 3 * MINUTE)
    record(alert, "cpr_started", occurred_at=now - 2 * MINUTE)

    events = onscene_events_of(actor=alert.responder.user, alert_id=alert.pk)

    assert [event.type for event in events] == ["arrived", "cpr_started", "pads_on"]
