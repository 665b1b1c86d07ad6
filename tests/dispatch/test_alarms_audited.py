"""When each of the board's alarms starts sounding is audited (`alarm`, the system's entry), where the
server raises it: the audit trail said only when a coordinator acknowledged an alarm, not when it
began. Once per alarm, not per pass: a step runs once (the incident row locked, the step counter
moved on in the same transaction), so a rerun or a second worker writes nothing more. The alarm's
kind and when, nothing of the patient (backend/dispatch/alarms.py: record_sounding)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.audit.models import AuditAction, AuditEntry
from backend.dispatch.actions import dispatch_incident, respond_to_alert
from backend.dispatch.escalation import escalate_incident, run_due_escalations
from backend.dispatch.models import Incident
from tests.dispatch.test_board_page import ACKNOWLEDGE, coordinator_api
from tests.dispatch.test_escalation import at, ladder  # noqa: F401 (autouse: the same ladder and rings)

pytestmark = pytest.mark.django_db


@pytest.fixture
def dispatched(incident, carol, alice, bob, charlie, dave):
    """Alice and Bob alerted (the first ring, 20 km), 2 crews needed; Charlie and Dave further out."""
    dispatch_incident(actor=carol, incident_id=incident.pk)
    incident.refresh_from_db()
    return incident


def sounded(incident) -> list[tuple[str, str]]:
    """The incident's `alarm` entries: (kind, raised_at), oldest first."""
    entries = AuditEntry.objects.filter(action=AuditAction.ALARM, incident_id=incident.pk).order_by("at", "pk")
    return [(entry.detail["kind"], entry.detail["raised_at"]) for entry in entries]


def test_the_undispatched_alarm_is_audited_once_when_it_starts_sounding(incident, settings):
    settings.UNDISPATCHED_ALARM_SECONDS = 60
    due = incident.created_at + datetime.timedelta(seconds=61)

    assert run_due_escalations(now=due) == 1
    assert run_due_escalations(now=due) == 0  # a rerun
    # Another worker, or a later pass: nothing is due any more.
    assert escalate_incident(incident_id=incident.pk, now=due + datetime.timedelta(seconds=600)) is False

    raised_at = Incident.objects.get(pk=incident.pk).alarm_raised_at
    assert sounded(incident) == [("undispatched", raised_at.isoformat())]
    entry = AuditEntry.objects.get(action=AuditAction.ALARM)
    assert (entry.actor, entry.actor_username, entry.role, entry.channel) == (None, "", "system", "system")
    assert (entry.object_type, entry.object_id, entry.incident_id) == ("alarm", "undispatched", incident.pk)
    # Nothing of the patient or the call: not the address, not the alarm's words.
    assert set(entry.detail) == {"kind", "raised_at"}
    assert "Elm" not in str(entry.detail) and "Example Road" not in str(entry.detail)


def test_the_trail_shows_when_it_began_and_when_it_was_acknowledged(incident, carol, settings):
    settings.UNDISPATCHED_ALARM_SECONDS = 60
    run_due_escalations(now=incident.created_at + datetime.timedelta(seconds=61))

    response = coordinator_api(carol).post(
        ACKNOWLEDGE, {"kind": "undispatched", "incident_id": incident.pk}, content_type="application/json"
    )

    assert response.status_code == 201, response.content
    trail = AuditEntry.objects.filter(incident_id=incident.pk, object_type__startswith="alarm").order_by("pk")
    assert [(entry.action, entry.object_type, entry.detail["kind"]) for entry in trail] == [
        (AuditAction.ALARM, "alarm", "undispatched"),
        (AuditAction.CREATE, "alarm_acknowledgement", "undispatched"),
    ]


def test_the_ladder_s_alarms_are_audited_once_each(dispatched):
    """Nobody accepts: after the first step the board's `unanswered` alarm sounds, after the last
    ring the escalation alarm. Each step asked twice, as a rerun or a second worker would."""
    for seconds in (61, 91, 121, 181, 600):
        run_due_escalations(now=at(dispatched, seconds))
        run_due_escalations(now=at(dispatched, seconds))
        escalate_incident(incident_id=dispatched.pk, now=at(dispatched, seconds))

    assert Incident.objects.get(pk=dispatched.pk).alarm_raised_at == at(dispatched, 181)
    assert sounded(dispatched) == [
        ("unanswered", at(dispatched, 61).isoformat()),
        ("escalation", at(dispatched, 181).isoformat()),
    ]


def test_no_unanswered_alarm_while_a_crew_is_going(dispatched):
    bob = dispatched.alerts.get(responder__user__username="bob")
    respond_to_alert(actor=bob.responder.user, alert_id=bob.pk, response="accept")  # 1 of the 2 needed

    run_due_escalations(now=at(dispatched, 61))

    assert sounded(dispatched) == []


def test_a_first_step_that_is_the_alarm_is_audited_as_the_escalation_alarm_only(dispatched, settings):
    settings.ESCALATION_LADDER = [(60, "alarm")]
    run_due_escalations(now=at(dispatched, 61))
    assert [kind for kind, _ in sounded(dispatched)] == ["escalation"]


def test_the_alarm_step_writes_one_audit_entry_in_one_insert(dispatched, settings):
    settings.ESCALATION_LADDER = [(60, "alarm")]
    with CaptureQueriesContext(connection) as queries:
        assert run_due_escalations(now=at(dispatched, 61)) == 1
    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "audit_auditentry"')]
    assert len(inserts) == 1


def test_a_dispatch_that_reaches_nobody_audits_the_unreached_alarm(incident, carol, dave, settings):
    settings.DISPATCH_NEXT_RINGS_KM = []  # nobody on call within 20 km

    assert dispatch_incident(actor=carol, incident_id=incident.pk) == []

    raised_at = Incident.objects.get(pk=incident.pk).alarm_raised_at
    assert sounded(incident) == [("unreached", raised_at.isoformat())]
    assert AuditEntry.objects.get(action=AuditAction.ALARM).actor is None  # the system's, not the dispatcher's


def test_the_last_crew_dropping_out_audits_the_escalation_alarm_afresh(dispatched):
    alice = dispatched.alerts.get(responder__user__username="alice")
    respond_to_alert(actor=alice.responder.user, alert_id=alice.pk, response="accept")
    respond_to_alert(actor=alice.responder.user, alert_id=alice.pk, response="decline", reason="no_transport")

    raised_at = Incident.objects.get(pk=dispatched.pk).alarm_raised_at
    assert sounded(dispatched) == [("escalation", raised_at.isoformat())]
    # The ladder starts again from its first step; its alarm is the one above, not `unanswered`.
    run_due_escalations(now=raised_at + datetime.timedelta(seconds=61))
    assert [kind for kind, _ in sounded(dispatched)] == ["escalation"]
