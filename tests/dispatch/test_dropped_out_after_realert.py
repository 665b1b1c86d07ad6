"""Who accepted and dropped out is still said after they are alerted again. Found by a browser
trial: the incident's only accepted responder was stood down (the board: "no one going now: 1
accepted, then dropped out") and alerted again by name; the board then said "nobody has accepted
(15 alerted)" and his phone's crew line "Nobody has accepted yet (2 needed)". A re-alert clears
the alert's acceptance time (test_realert.py); the alert keeps that he accepted (first_accepted_at),
not the audit trail, which is the accountability record and may be archived or moved. Counted once,
by his state now: alerted again and not answered yet, not "dropped out" (a later trial found him
counted as dropped out beside the one stood down: test_coverage_after_a_stand_down.py).

Alice and Bob are at Norwich; the crew target is 2."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.audit.models import AuditEntry
from backend.dispatch.actions import create_incident, dispatch_incident, respond_to_alert, stand_down
from backend.dispatch.escalation import run_due_escalations
from backend.dispatch.models import Alert, Incident
from backend.dispatch.payloads import board_incident, crew_of
from backend.realtime.models import ResponderEvent
from tests.api.helpers import assert_matches
from tests.conftest import NORWICH_INCIDENT

LADDER = [(60, "ring"), (90, "sms"), (120, "alarm")]


@pytest.fixture(autouse=True)
def rules(settings):
    settings.ESCALATION_LADDER = LADDER
    settings.DISPATCH_RADIUS_KM = 20
    settings.DISPATCH_NEXT_RINGS_KM = [35]
    settings.DISPATCH_CREW_TARGET = 2


def dispatched(carol) -> Incident:
    incident = create_incident(
        actor=carol,
        cad_reference="T7-2",
        latitude=NORWICH_INCIDENT[0],
        longitude=NORWICH_INCIDENT[1],
        address="12 Example Road, Norwich",
    )
    dispatch_incident(actor=carol, incident_id=incident.pk)
    return fresh(incident)


def fresh(incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def alert_of(incident, responder) -> Alert:
    return Alert.objects.get(incident=incident, responder=responder)


def accepted_then_stood_down_and_alerted_again(carol, incident, responder) -> None:
    respond_to_alert(actor=responder.user, alert_id=alert_of(incident, responder).pk, response="accept")
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, responder).pk])
    dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[responder.pk])
    again = alert_of(incident, responder)
    assert again.state == "alerted" and again.accepted_at is None and again.realerted_at is not None


def test_the_board_still_counts_who_accepted_and_dropped_out_after_a_realert(carol, alice, bob):
    incident = dispatched(carol)
    accepted_then_stood_down_and_alerted_again(carol, incident, alice)

    data = board_incident(fresh(incident))

    assert_matches("board_incident", data)
    assert (data["covering_count"], data["accepted_count"]) == (0, 0)
    assert (data["alerted_again_count"], data["dropped_out_count"], data["stood_down_by_control_count"]) == (1, 0, 0)


def test_the_count_is_none_while_somebody_is_going_and_zero_when_nobody_dropped_out(carol, alice, bob):
    incident = dispatched(carol)
    assert board_incident(incident)["dropped_out_count"] == 0
    respond_to_alert(actor=bob.user, alert_id=alert_of(incident, bob).pk, response="accept")
    data = board_incident(fresh(incident))
    assert data["dropped_out_count"] is data["alerted_again_count"] is data["stood_down_by_control_count"] is None


def test_the_crew_still_says_who_accepted_after_a_realert(carol, alice, bob):
    incident = dispatched(carol)
    accepted_then_stood_down_and_alerted_again(carol, incident, alice)

    crew = {member["responder_id"]: member for member in crew_of(incident)}

    for member in crew.values():
        assert_matches("crew_member", member)
    assert crew[alice.pk]["ever_accepted"] is True
    assert crew[bob.pk]["ever_accepted"] is False
    assert (crew[alice.pk]["no_longer_going"], crew[bob.pk]["no_longer_going"]) == ("alerted_again", None)
    # Bob's phone heard it with the crew of the re-alert.
    update = ResponderEvent.objects.filter(responder=bob, type="incident.updated").order_by("-pk").first()
    told = {member["responder_id"]: member for member in update.data["crew"]}
    assert told[alice.pk]["ever_accepted"] is True


@pytest.mark.parametrize("realerted", [False, True])
def test_the_crew_costs_one_query_after_a_realert_too(carol, alice, bob, realerted):
    incident = dispatched(carol)
    if realerted:
        accepted_then_stood_down_and_alerted_again(carol, incident, alice)
    else:
        respond_to_alert(actor=alice.user, alert_id=alert_of(incident, alice).pk, response="accept")
    with CaptureQueriesContext(connection) as queries:
        crew = crew_of(incident)
    assert len(queries) == 1
    assert [member["ever_accepted"] for member in crew] == [True, False]


# --- Not from the audit trail ------------------------------------------------------------------------
# The trail is the accountability record: archived, pseudonymised or moved elsewhere in a deployment
# of several trusts, its detail no schema. What the board, the phones and the alarm say must not
# change when it is gone.


def without_the_audit_trail(incident) -> None:
    """The incident's entries gone, as once archived (the product itself refuses to delete them)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE incident_id = %s", [incident.pk])
    assert not AuditEntry.objects.filter(incident_id=incident.pk).exists()


def test_who_accepted_and_dropped_out_is_still_said_without_the_audit_trail(carol, alice, bob):
    incident = dispatched(carol)
    accepted_then_stood_down_and_alerted_again(carol, incident, alice)
    without_the_audit_trail(incident)

    assert board_incident(fresh(incident))["alerted_again_count"] == 1
    crew = {member["responder_id"]: member for member in crew_of(incident)}
    assert (crew[alice.pk]["ever_accepted"], crew[bob.pk]["ever_accepted"]) == (True, False)
    for _step in LADDER:
        assert run_due_escalations(now=fresh(incident).next_escalation_at) == 1
    assert fresh(incident).alarm_message.startswith("Nobody is going to incident T7-2 any more")


def test_the_first_acceptance_is_kept_through_a_decline_a_stand_down_and_a_realert(carol, alice, bob):
    incident = dispatched(carol)
    assert alert_of(incident, alice).first_accepted_at is None
    before = timezone.now()
    accepted_then_stood_down_and_alerted_again(carol, incident, alice)
    first = alert_of(incident, alice).first_accepted_at
    assert first is not None and first >= before

    alert_id = alert_of(incident, alice).pk
    respond_to_alert(actor=alice.user, alert_id=alert_id, response="accept")
    respond_to_alert(actor=alice.user, alert_id=alert_id, response="decline", reason="no_transport")
    respond_to_alert(actor=alice.user, alert_id=alert_id, response="accept")
    again = alert_of(incident, alice)
    assert again.accepted_at > first and again.first_accepted_at == first


def test_accepting_after_declining_is_a_first_acceptance(carol, alice, bob):
    incident = dispatched(carol)
    alert_id = alert_of(incident, bob).pk
    respond_to_alert(actor=bob.user, alert_id=alert_id, response="decline", reason="too_far")
    assert alert_of(incident, bob).first_accepted_at is None
    respond_to_alert(actor=bob.user, alert_id=alert_id, response="accept")
    accepted = alert_of(incident, bob)
    assert accepted.first_accepted_at == accepted.accepted_at


def test_the_escalation_alarm_after_a_realert_does_not_say_nobody_has_accepted(carol, alice, bob):
    incident = dispatched(carol)
    accepted_then_stood_down_and_alerted_again(carol, incident, alice)

    for _step in LADDER:
        assert run_due_escalations(now=fresh(incident).next_escalation_at) == 1

    assert fresh(incident).alarm_message == (
        "Nobody is going to incident T7-2 any more (0 going, 2 needed) after every ring was alerted."
    )
