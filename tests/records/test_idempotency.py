"""Submission that loses nothing: the phone resends until it gets an answer, so the same key and
body return the stored record, the same key with another body is refused, and four copies arriving
at once create exactly one record."""

import contextlib
import threading
import uuid

import pytest
from django.db import connection

from backend.errors import InvalidInput
from backend.records import actions
from backend.records.actions import AlreadySubmitted, KeyReused
from backend.records.models import Amendment, Attendance, Outcome, WelfareCheckIn
from tests.records.conftest import accept, ago, iso, submit, valid_outcome


def test_the_same_key_and_body_again_returns_the_stored_record(alice_alert):
    key, on_scene = uuid.uuid4(), iso(ago(minutes=5))
    first, created = submit(alice_alert, key=key, attended=True, on_scene_at=on_scene)
    again, created_again = submit(alice_alert, key=key, attended=True, on_scene_at=on_scene)
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk and Attendance.objects.count() == 1


def test_the_same_instant_with_another_offset_is_the_same_body(alice_alert):
    key, when = uuid.uuid4(), ago(minutes=5)
    submit(alice_alert, key=key, attended=True, on_scene_at=when.isoformat())
    _, created = submit(alice_alert, key=key, attended=True, on_scene_at=when.astimezone(_plus_one_hour()).isoformat())
    assert created is False


def _plus_one_hour():
    import datetime

    return datetime.timezone(datetime.timedelta(hours=1))


def test_the_same_key_with_a_different_body_is_refused(alice_alert):
    key = uuid.uuid4()
    submit(alice_alert, key=key, attended=True)
    with pytest.raises(KeyReused) as refused:
        submit(alice_alert, key=key, attended=False)
    assert refused.value.status == 409 and refused.value.code == "idempotency_key_reused"
    assert refused.value.fields == {"idempotency_key": ["Already used for a different submission."]}
    assert Attendance.objects.get().attended is True


def test_another_key_for_a_form_already_submitted_is_already_submitted(alice_alert):
    first, _ = submit(alice_alert, attended=True)
    with pytest.raises(AlreadySubmitted) as refused:
        submit(alice_alert, attended=True)
    assert refused.value.code == "already_submitted"
    assert refused.value.extra["record"]["id"] == first.pk
    assert Attendance.objects.count() == 1


def test_a_key_used_on_someone_elses_form_is_refused_without_showing_it(alice_alert, bob_alert):
    key = uuid.uuid4()
    submit(bob_alert, key=key, attended=True)
    with pytest.raises(KeyReused) as refused:
        submit(alice_alert, key=key, attended=True)
    assert "record" not in refused.value.extra
    assert Attendance.objects.count() == 1


def test_a_refused_submission_stores_nothing_and_a_corrected_one_with_a_new_key_is_stored(alice_alert):
    with pytest.raises(InvalidInput):
        submit(alice_alert, attended=True, on_scene_at="yesterday")
    _, created = submit(alice_alert, attended=True)
    assert created and Attendance.objects.count() == 1


def test_a_changed_record_is_still_returned_to_a_late_retry_of_its_submission(alice_alert, alice):
    key = uuid.uuid4()
    submit(alice_alert, key=key, attended=True)
    actions.change_record(
        actor=alice.user,
        kind="attendance",
        alert_id=alice_alert.pk,
        idempotency_key=uuid.uuid4(),
        reason="Forgot the appliance",
        fields={"appliance": "21P1"},
    )
    record, created = submit(alice_alert, key=key, attended=True)
    assert created is False and record.version == 2 and record.appliance == "21P1"


def test_a_change_retried_with_its_key_is_made_once(alice_alert, alice):
    submit(alice_alert, attended=True)
    change = dict(
        actor=alice.user,
        kind="attendance",
        alert_id=alice_alert.pk,
        idempotency_key=uuid.uuid4(),
        reason="Wrong appliance",
        fields={"appliance": "21P2"},
    )
    first = actions.change_record(**change)
    again = actions.change_record(**change)
    assert first.version == again.version == 2
    assert Amendment.objects.count() == 1
    with pytest.raises(KeyReused):
        actions.change_record(**{**change, "fields": {"appliance": "21P3"}})


# --- Really at once ------------------------------------------------------------------------------------


@pytest.mark.parametrize("same_key", [True, False])
def test_a_copy_committed_between_look_up_and_insert_is_found_after_the_insert_fails(
    alice_alert, monkeypatch, same_key
):
    """What happens to the loser of a race, on any database: its look-ups found nothing (the other
    copy had not committed yet), its insert hits the unique constraint, and it answers as a retry
    (same key) or as already submitted (another key), storing nothing."""
    key = uuid.uuid4()
    stored, _ = submit(alice_alert, key=key, attended=True)
    real_retry, real_record_of_alert = actions._submission_retry, actions.access.record_of_alert
    blind = {"retry": 1, "record": 1}

    def retry_not_yet_visible(*args):
        if blind["retry"]:
            blind["retry"] -= 1
            return None
        return real_retry(*args)

    def record_not_yet_visible(kind, alert, **kwargs):
        if blind["record"]:
            blind["record"] -= 1
            return None
        return real_record_of_alert(kind, alert, **kwargs)

    monkeypatch.setattr(actions, "_submission_retry", retry_not_yet_visible)
    monkeypatch.setattr(actions.access, "record_of_alert", record_not_yet_visible)
    if same_key:
        record, created = submit(alice_alert, key=key, attended=True)
        assert (record.pk, created) == (stored.pk, False)
    else:
        with pytest.raises(AlreadySubmitted):
            submit(alice_alert, attended=True)
    assert blind == {"retry": 0, "record": 0}
    assert Attendance.objects.count() == 1


# SQLite's test database lives in shared-cache memory, where a second writer is refused ("database
# table is locked") instead of waiting as it does on the file database in use; PostgreSQL is where
# copies really race.
needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL) for writers that really race"
)


def _at_once(count: int, work, monkeypatch) -> tuple[list, list]:
    """Run `work` on `count` threads, each on its own database connection, released together, and
    held after their first look-up until all have looked and found nothing: then all insert."""
    start = threading.Barrier(count, timeout=10)
    looked = threading.Barrier(count, timeout=10)
    first_look = threading.local()
    real_record_of_alert = actions.access.record_of_alert

    def look_then_wait(kind, alert, **kwargs):
        found = real_record_of_alert(kind, alert, **kwargs)
        if found is None and not getattr(first_look, "done", False):
            first_look.done = True
            with contextlib.suppress(threading.BrokenBarrierError):
                looked.wait()
        return found

    monkeypatch.setattr(actions.access, "record_of_alert", look_then_wait)
    results, errors = [], []

    def run():
        try:
            start.wait()
            results.append(work())
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert not looked.broken, "the copies did not all look before inserting: no race was tested"
    return results, errors


@needs_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["attendance", "outcome", "welfare"])
def test_four_identical_submissions_at_once_create_one_record(incident, carol, alice, bob, erin, kind, monkeypatch):
    from backend.dispatch.actions import dispatch_incident
    from backend.dispatch.models import Incident

    Incident.objects.filter(pk=incident.pk).update(created_at=ago(hours=1))
    alerts = {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}
    alert = accept(alerts["erin"])
    key = uuid.uuid4()
    fields = {
        "attendance": {"attended": True, "on_scene_at": iso(ago(minutes=5))},
        "outcome": valid_outcome(),
        "welfare": {"impact": 2, "follow_up": "none"},
    }[kind]

    results, errors = _at_once(4, lambda: submit(alert, kind, key=key, **fields), monkeypatch)

    assert errors == []
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert len({record.pk for record, _ in results}) == 1
    model = {"attendance": Attendance, "outcome": Outcome, "welfare": WelfareCheckIn}[kind]
    assert model.objects.count() == 1


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_four_submissions_at_once_under_different_keys_store_one_and_refuse_three(
    incident, carol, alice, bob, erin, monkeypatch
):
    from backend.dispatch.actions import dispatch_incident

    alerts = {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}
    alert = accept(alerts["alice"])

    results, errors = _at_once(4, lambda: submit(alert, attended=True), monkeypatch)

    assert len(results) == 1 and results[0][1] is True
    assert [type(error) for error in errors] == [AlreadySubmitted] * 3
    assert Attendance.objects.count() == 1
