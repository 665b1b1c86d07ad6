"""Changing a record: its author while it is open (RECORDS_LOCK_HOURS after it was submitted), with
a reason; a coordinator after that (or before), with a reason. Each change is kept as an amendment
naming the fields changed."""

import datetime
import uuid

import pytest

from backend.errors import InvalidInput, NotAllowed, NotFound
from backend.records import actions
from backend.records.actions import Locked
from backend.records.models import Amendment, Attendance, Outcome
from tests.records.conftest import ago, iso, submit, valid_outcome


def change(alert, kind="attendance", reason="Typo", **fields):
    return actions.change_record(
        actor=alert.responder.user,
        kind=kind,
        alert_id=alert.pk,
        idempotency_key=uuid.uuid4(),
        reason=reason,
        fields=fields,
    )


def amend(actor, record, kind="attendance", reason="Checked with the crew", **fields):
    return actions.amend_record(
        actor=actor, kind=kind, record_id=record.pk, idempotency_key=uuid.uuid4(), reason=reason, fields=fields
    )


def age(record, **kwargs):
    """Make the record as old as that (the lock window runs from its submission)."""
    type(record).objects.filter(pk=record.pk).update(submitted_at=ago(**kwargs))


def test_the_author_changes_an_open_record_with_a_reason(alice_alert, alice):
    record, _ = submit(alice_alert, attended=True, appliance="21P1")
    changed = change(alice_alert, reason="Wrong appliance", appliance="21P2", notes="Came on the second pump")
    assert (changed.appliance, changed.version) == ("21P2", 2)
    amendment = Amendment.objects.get()
    assert (amendment.record_kind, amendment.record_id, amendment.version) == ("attendance", record.pk, 2)
    assert (amendment.reason, amendment.by_coordinator, amendment.amended_by) == ("Wrong appliance", False, alice.user)
    assert amendment.changed_fields == ["appliance", "notes"]


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_change_needs_a_reason(alice_alert, reason):
    submit(alice_alert, attended=True)
    with pytest.raises(InvalidInput) as refused:
        change(alice_alert, reason=reason, appliance="21P2")
    assert refused.value.fields == {"reason": ["Say why you are changing this record."]}
    assert Attendance.objects.get().version == 1


def test_a_change_is_checked_against_the_values_it_leaves_in_place(alice_alert):
    submit(alice_alert, attended=True, on_scene_at=iso(ago(minutes=20)))
    with pytest.raises(InvalidInput) as refused:
        change(alice_alert, mobile_at=iso(ago(minutes=10)))
    assert "cannot be before mobile" in refused.value.fields["on_scene_at"][0]


def test_a_change_that_changes_nothing_is_refused(alice_alert):
    submit(alice_alert, attended=True, appliance="21P1")
    with pytest.raises(InvalidInput) as refused:
        change(alice_alert, appliance="21P1")
    assert refused.value.message == "Nothing to change: every value sent is the one already stored."


def test_changing_a_form_never_submitted_is_not_found(alice_alert):
    with pytest.raises(NotFound) as refused:
        change(alice_alert, appliance="21P1")
    assert "submit it first" in refused.value.message


def test_after_the_lock_window_the_author_cannot_change_it(alice_alert):
    record, _ = submit(alice_alert, attended=True)
    age(record, hours=72, seconds=1)
    with pytest.raises(Locked) as refused:
        change(alice_alert, appliance="21P2")
    assert refused.value.status == 409 and refused.value.code == "locked"
    assert refused.value.message == (
        "This record was locked 72 hours after it was submitted. Ask a coordinator to amend it."
    )
    assert not Amendment.objects.exists()


def test_just_inside_the_lock_window_the_author_still_can(alice_alert):
    record, _ = submit(alice_alert, attended=True)
    age(record, hours=71, minutes=59)
    assert change(alice_alert, appliance="21P2").version == 2


def test_the_lock_window_comes_from_the_setting(alice_alert, settings):
    settings.RECORDS_LOCK_HOURS = 1
    record, _ = submit(alice_alert, attended=True)
    age(record, hours=1, seconds=1)
    with pytest.raises(Locked) as refused:
        change(alice_alert, appliance="21P2")
    assert refused.value.message.startswith("This record was locked 1 hours after")


def test_a_coordinator_amends_a_locked_record_with_a_reason(alice_alert, carol):
    record, _ = submit(alice_alert, attended=True)
    age(record, days=10)
    amended = amend(carol, record, attended=False, reason="Pay records show she was not on duty")
    assert (amended.attended, amended.version) == (False, 2)
    amendment = Amendment.objects.get()
    assert (amendment.by_coordinator, amendment.amended_by, amendment.changed_fields) == (True, carol, ["attended"])
    assert amendment.reason == "Pay records show she was not on duty"


def test_a_coordinator_amendment_needs_a_reason(alice_alert, carol):
    record, _ = submit(alice_alert, attended=True)
    with pytest.raises(InvalidInput) as refused:
        amend(carol, record, reason="", attended=False)
    assert refused.value.fields == {"reason": ["Say why you are changing this record."]}


def test_a_coordinator_amends_an_outcome_and_the_rules_still_hold(erin_alert, carol):
    record, _ = submit(erin_alert, "outcome", **valid_outcome())
    age(record, days=5)
    with pytest.raises(InvalidInput) as refused:
        amend(carol, record, "outcome", defibrillator_applied=False)
    assert list(refused.value.fields) == ["crew_shocks"]
    amended = amend(carol, record, "outcome", crew_shocks=2)
    assert Outcome.objects.get().crew_shocks == 2 and amended.version == 2


def test_the_crew_can_be_amended(erin_alert, alice_alert, carol, erin, alice):
    record, _ = submit(erin_alert, "outcome", **valid_outcome(crew=[erin.pk]))
    amend(carol, record, "outcome", crew=[erin.pk, alice.pk])
    assert set(Outcome.objects.get().crew.all()) == {erin, alice}
    assert Amendment.objects.get().changed_fields == ["crew"]


def test_welfare_check_ins_are_never_amended_by_coordinators(alice_alert, carol):
    record, _ = submit(alice_alert, "welfare", impact=3)
    with pytest.raises(NotFound):
        amend(carol, record, "welfare", impact=1)


def test_only_coordinators_amend(alice_alert, alice, wendy):
    record, _ = submit(alice_alert, attended=True)
    for someone in (alice.user, wendy):
        with pytest.raises(NotAllowed):
            amend(someone, record, attended=False)
    assert Attendance.objects.get().version == 1


def test_an_unknown_record_is_not_found(carol):
    with pytest.raises(NotFound):
        actions.amend_record(
            actor=carol, kind="attendance", record_id=999, idempotency_key=uuid.uuid4(), reason="x", fields={}
        )


def test_the_record_says_when_it_locks(alice_alert, settings):
    from backend.records.payloads import record_payload

    record, _ = submit(alice_alert, attended=True)
    payload = record_payload("attendance", record)
    assert payload["locks_at"] == (record.submitted_at + datetime.timedelta(hours=72)).isoformat()
    assert payload["locked"] is False


def test_a_welfare_check_in_stays_open_to_its_author_after_the_lock_window(alice_alert):
    """Nobody else may change a welfare check-in, and a firefighter may want a TRiM follow-up days
    after a hard call: it never locks."""
    from backend.records.payloads import record_payload

    record, _ = submit(alice_alert, "welfare", impact=2)
    age(record, days=4)
    form = actions.open_form(actor=alice_alert.responder.user, kind="welfare", alert_id=alice_alert.pk)
    assert form.editable is True
    payload = record_payload("welfare", form.record)
    assert (payload["locked"], payload["locks_at"]) == (False, None)
    changed = change(alice_alert, "welfare", reason="It has stayed with me", follow_up="trim", impact=4)
    assert (changed.version, changed.follow_up, changed.impact) == (2, "trim", 4)
    assert Amendment.objects.get().changed_fields == ["follow_up", "impact"]


def test_attendance_and_outcome_forms_still_lock_for_their_authors(alice_alert, erin_alert):
    record, _ = submit(alice_alert, attended=True)
    submit(erin_alert, attended=True)  # the crew lead attended too: the outcome is hers
    outcome, _ = submit(erin_alert, "outcome", **valid_outcome())
    age(record, hours=73)
    age(outcome, hours=73)
    for alert, kind in ((alice_alert, "attendance"), (erin_alert, "outcome")):
        assert actions.open_form(actor=alert.responder.user, kind=kind, alert_id=alert.pk).editable is False
    with pytest.raises(Locked):
        change(erin_alert, "outcome", appliance="21P2")
