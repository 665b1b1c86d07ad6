"""The attendance form: one per firefighter per incident, prefilled from the alert and the checklist."""

import uuid

import pytest
from django.utils import timezone

from backend.checklists.actions import record_onscene_event
from backend.dispatch.actions import respond_to_alert
from backend.errors import InvalidInput, NotFound
from backend.records import actions
from backend.records.models import Attendance
from tests.records.conftest import ago, iso, submit


def test_a_firefighter_submits_their_attendance(alice_alert, alice):
    record, created = submit(
        alice_alert,
        attended=True,
        appliance="21P1",
        role="crew_member",
        mobile_at=iso(ago(minutes=30)),
        on_scene_at=iso(ago(minutes=20)),
        at_patient_at=iso(ago(minutes=19)),
        left_scene_at=iso(ago(minutes=2)),
        notes="Access via the side gate.",
    )
    assert created
    stored = Attendance.objects.get()
    assert stored == record
    assert (stored.alert, stored.attended, stored.appliance, stored.role) == (alice_alert, True, "21P1", "crew_member")
    assert stored.submitted_by == alice.user and stored.version == 1


def test_attended_is_required(alice_alert):
    with pytest.raises(InvalidInput) as refused:
        submit(alice_alert, appliance="21P1")
    assert refused.value.fields == {"attended": ["Say whether you attended."]}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"attended": "yes"}, "attended", "Answer true or false."),
        ({"role": "captain"}, "role", "Use one of: crew_lead, crew_member, driver."),
        ({"appliance": "X" * 21}, "appliance", "Keep this to 20 characters (it has 21)."),
        ({"notes": "n" * 1001}, "notes", "Keep this to 1000 characters (it has 1001)."),
        ({"mobile_at": "14:07"}, "mobile_at", "Give a time with its offset, e.g. 2025-03-01T14:07:12Z."),
        ({"mobile_at": "2025-03-01T14:07:12"}, "mobile_at", "Give a time with its offset, e.g. 2025-03-01T14:07:12Z."),
        ({"shoe_size": 9}, "shoe_size", "Not a field of this form."),
    ],
)
def test_bad_values_are_refused_with_a_message_on_the_field(alice_alert, fields, field, message):
    with pytest.raises(InvalidInput) as refused:
        submit(alice_alert, **{"attended": True, **fields})
    assert refused.value.fields[field][0].startswith(message), refused.value.fields
    assert not Attendance.objects.exists()


def test_a_time_in_the_future_is_refused_but_two_minutes_of_clock_slack_are_not(alice_alert):
    with pytest.raises(InvalidInput) as refused:
        submit(alice_alert, attended=True, on_scene_at=iso(timezone.now() + timezone.timedelta(minutes=3)))
    assert refused.value.fields == {
        "on_scene_at": ["This time is in the future. Check the time, and the phone's clock."]
    }
    record, _ = submit(alice_alert, attended=True, on_scene_at=iso(timezone.now() + timezone.timedelta(seconds=90)))
    assert record.on_scene_at is not None


def test_a_time_before_the_incident_is_refused(alice_alert):
    with pytest.raises(InvalidInput) as refused:
        submit(alice_alert, attended=True, mobile_at=iso(ago(hours=3)))
    assert refused.value.fields["mobile_at"][0].startswith("This time is before the incident was created (")


def test_times_must_come_in_order_and_the_message_is_on_the_later_one(alice_alert):
    with pytest.raises(InvalidInput) as refused:
        submit(alice_alert, attended=True, on_scene_at=iso(ago(minutes=20)), at_patient_at=iso(ago(minutes=25)))
    [message] = refused.value.fields["at_patient_at"]
    assert message.startswith("At patient (") and "cannot be before on scene (" in message
    assert set(refused.value.fields) == {"at_patient_at"}

    with pytest.raises(InvalidInput) as refused:
        submit(alice_alert, attended=True, mobile_at=iso(ago(minutes=10)), left_scene_at=iso(ago(minutes=11)))
    assert "cannot be before mobile" in refused.value.fields["left_scene_at"][0]


def test_a_form_for_an_alert_not_accepted_or_not_mine_is_not_found(alerts, alice, bob):
    with pytest.raises(NotFound):
        submit(alerts["alice"], attended=True)  # alerted, never accepted
    respond_to_alert(actor=bob.user, alert_id=alerts["bob"].pk, response="accept")
    with pytest.raises(NotFound):
        actions.submit_record(
            actor=alice.user, kind="attendance", alert_id=alerts["bob"].pk, idempotency_key=uuid.uuid4(),
            fields={"attended": True},
        )  # fmt: skip
    assert not Attendance.objects.exists()


def test_a_declined_alert_that_was_accepted_first_still_has_a_form(alerts, alice):
    """Accepted, then declined on the way (plans change): the firefighter may have been mobile."""
    alert = alerts["alice"]
    respond_to_alert(actor=alice.user, alert_id=alert.pk, response="accept")
    respond_to_alert(actor=alice.user, alert_id=alert.pk, response="decline", reason="unavailable")
    record, created = submit(alert, attended=False)
    assert created and record.attended is False


def test_the_prefill_comes_from_the_alert_and_the_checklist(alice_alert, alice):
    user = alice.user
    respond_to_alert(actor=user, alert_id=alice_alert.pk, response="en_route")
    respond_to_alert(actor=user, alert_id=alice_alert.pk, response="on_scene")
    at_patient = timezone.now()
    record_onscene_event(
        actor=user, alert_id=alice_alert.pk, idempotency_key=uuid.uuid4(), type="arrived", occurred_at=at_patient
    )
    respond_to_alert(actor=user, alert_id=alice_alert.pk, response="cleared")
    alice_alert.refresh_from_db()

    form = actions.open_form(actor=user, kind="attendance", alert_id=alice_alert.pk)

    assert form.record is None and form.editable
    assert form.prefill == {
        "attended": True,
        "mobile_at": alice_alert.en_route_at.isoformat(),
        "on_scene_at": alice_alert.on_scene_at.isoformat(),
        "at_patient_at": at_patient.isoformat(),
        "left_scene_at": alice_alert.cleared_at.isoformat(),
    }


def test_mobile_is_never_prefilled_from_accepting(alice_alert, alice):
    """Mobile is setting off (en route), not accepting: found by the ninth trial of the product, a
    firefighter who accepted and withdrew was shown as mobile at the time they accepted."""
    form = actions.open_form(actor=alice.user, kind="attendance", alert_id=alice_alert.pk)
    assert form.prefill == {}
    respond_to_alert(actor=alice.user, alert_id=alice_alert.pk, response="on_scene")  # never en route
    alice_alert.refresh_from_db()
    form = actions.open_form(actor=alice.user, kind="attendance", alert_id=alice_alert.pk)
    assert form.prefill == {"attended": True, "on_scene_at": alice_alert.on_scene_at.isoformat()}


def test_the_prefilled_values_can_be_submitted_as_they_are(alice_alert, alice):
    respond_to_alert(actor=alice.user, alert_id=alice_alert.pk, response="on_scene")
    form = actions.open_form(actor=alice.user, kind="attendance", alert_id=alice_alert.pk)
    record, created = submit(alice_alert, **form.prefill)
    assert created and record.attended and record.on_scene_at is not None
