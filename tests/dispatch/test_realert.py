"""A stood-down alert alerted again (a coordinator's "Alert named", or automatically when cover
drops after "enough crews" stood the rest down) is asked afresh: the earlier answer's times are
cleared, so no count, coverage tally or report goes on counting a superseded acceptance, and the
re-alert's time is kept, so the answers after it are timed from it. The first alert stays (the
incident's "fire alerted" time), and so does an arrival: someone who had been on scene went.
Found by a browser trial of the product (T5-CAD-3: Kate Lowe, accepted, stood down, alerted by name:
"received" with accepted_at 21:29:37 and accepted_count 1)."""

import datetime

import pytest

from backend.audit.models import AuditAction, AuditEntry
from backend.dispatch import coverage
from backend.dispatch.actions import create_incident, dispatch_incident, respond_to_alert, stand_down
from backend.dispatch.escalation import run_due_escalations
from backend.dispatch.models import Alert, AlertState, Incident, StandDownReason
from backend.dispatch.payloads import alert_detail, board_alert, board_incident
from backend.realtime.models import ResponderEvent
from backend.records import registry
from backend.records.models import AlertSummary
from backend.records.summaries import catch_up
from tests.api.helpers import assert_matches
from tests.conftest import NORWICH_INCIDENT, client_for

MINUTES_7 = datetime.timedelta(minutes=7)


@pytest.fixture(autouse=True)
def rules(settings):
    settings.ESCALATION_LADDER = [(60, "ring"), (90, "sms"), (120, "ring"), (180, "alarm")]
    settings.DISPATCH_RADIUS_KM = 20
    settings.DISPATCH_NEXT_RINGS_KM = [35, 80]
    settings.COVERED_STAND_DOWN_GRACE_SECONDS = 30
    settings.DISPATCH_CREW_TARGET = 2


def dispatched(carol, *, crew_target=2, responder_ids=None) -> Incident:
    incident = create_incident(
        actor=carol,
        cad_reference="T5-CAD-3",
        latitude=NORWICH_INCIDENT[0],
        longitude=NORWICH_INCIDENT[1],
        address="12 Example Road, Norwich",
        crew_target=crew_target,
    )
    dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=responder_ids)
    return Incident.objects.get(pk=incident.pk)


def alert_of(incident, responder) -> Alert:
    return Alert.objects.select_related("responder__user", "responder__station").get(
        incident=incident, responder=responder
    )


def answer(incident, responder, response, **extra) -> Alert:
    found = alert_of(incident, responder)
    return respond_to_alert(actor=responder.user, alert_id=found.pk, response=response, **extra)


def first_alert_earlier(alert: Alert, by=MINUTES_7) -> None:
    """The first alert went out `by` earlier than the actions' clock made it (a stand-down and a
    re-alert minutes later, as in the trial), without waiting for it."""
    Alert.objects.filter(pk=alert.pk).update(alerted_at=alert.alerted_at - by)


def stand_down_and_alert_again(carol, incident, responder) -> Alert:
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert_of(incident, responder).pk])
    again = dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[responder.pk])
    assert [alert.responder_id for alert in again] == [responder.pk]
    return alert_of(incident, responder)


# --- A coordinator's "Alert named" after a stand-down ------------------------------------------------


def test_a_named_realert_clears_the_stood_down_acceptance_and_keeps_the_first_alert(carol, alice):
    incident = dispatched(carol, responder_ids=[alice.pk])
    first = alert_of(incident, alice)
    answer(incident, alice, "received")
    answer(incident, alice, "accept")

    alert = stand_down_and_alert_again(carol, incident, alice)

    assert alert.state == AlertState.ALERTED
    assert (alert.received_at, alert.accepted_at, alert.stood_down_at) == (None, None, None)
    assert alert.stood_down_reason == ""
    assert alert.alerted_at == first.alerted_at  # the incident's "fire alerted" time stays the first
    assert alert.realerted_at is not None and alert.realerted_at >= alert.alerted_at
    counts = coverage.coverage_of(incident)
    assert (counts.accepted, counts.committed, counts.covering, counts.attended) == (0, 0, 0, 0)
    figures = board_incident(incident)
    assert figures["accepted_count"] == 0
    shown = board_alert(alert)
    assert shown["accepted_at"] is None and shown["realerted_at"] == alert.realerted_at.isoformat()
    assert_matches("board_alert", shown)
    # The phone is told afresh, with the same cleared answer and the re-alert's time.
    created = ResponderEvent.objects.filter(responder=alice, type="alert.created").order_by("id")
    latest = created.last().data["alert"]
    assert created.count() == 2
    assert (latest["state"], latest["accepted_at"], latest["realerted_at"]) == ("alerted", None, shown["realerted_at"])
    assert_matches("alert", alert_detail(alert))


def test_a_named_realert_clears_an_earlier_decline_and_the_setting_off(carol, alice):
    incident = dispatched(carol, responder_ids=[alice.pk])
    answer(incident, alice, "decline", reason="no_transport", note="Car in for a service")
    answer(incident, alice, "accept")
    answer(incident, alice, "en_route")

    alert = stand_down_and_alert_again(carol, incident, alice)

    assert (alert.declined_at, alert.decline_reason, alert.decline_note) == (None, "", "")
    assert (alert.accepted_at, alert.en_route_at, alert.on_scene_at) == (None, None, None)
    assert coverage.coverage_of(incident).accepted == 0


def test_the_audit_trail_keeps_every_state_of_a_realerted_alert(carol, alice):
    incident = dispatched(carol, responder_ids=[alice.pk])
    answer(incident, alice, "accept")
    alert = stand_down_and_alert_again(carol, incident, alice)

    entries = AuditEntry.objects.filter(action=AuditAction.ALERT_STATE, object_id=str(alert.pk)).order_by("pk")

    assert [entry.detail["state"] for entry in entries] == ["alerted", "accepted", "stood_down", "alerted"]
    assert entries.last().actor == carol  # the coordinator's re-alert, not the system's


def test_answers_after_a_realert_are_timed_from_it_and_counted_once(carol, alice):
    incident = dispatched(carol, responder_ids=[alice.pk])
    answer(incident, alice, "accept")
    alert = stand_down_and_alert_again(carol, incident, alice)
    first_alert_earlier(alert)

    answer(incident, alice, "accept")

    alert = alert_of(incident, alice)
    assert alert.accepted_at >= alert.realerted_at
    assert Alert.answered_alert(alert.alerted_at, alert.realerted_at, alert.accepted_at) == alert.realerted_at
    assert coverage.coverage_of(incident).accepted == 1
    # The reports: from the re-alert (seconds), not from the first alert seven minutes before.
    catch_up()
    assert AlertSummary.objects.get(alert=alert).to_acceptance_s < 60
    today = datetime.date.today()
    figures = registry.alerting_figures(registry.Period(today, today), [])
    assert (figures.alerts_sent, figures.alerts_accepted) == (1, 1)
    assert figures.to_acceptance_median_s < 60


def test_a_superseded_acceptance_is_not_counted_by_the_reports(carol, alice):
    incident = dispatched(carol, responder_ids=[alice.pk])
    answer(incident, alice, "accept")
    catch_up()
    assert AlertSummary.objects.get(alert=alert_of(incident, alice)).to_acceptance_s is not None

    stand_down_and_alert_again(carol, incident, alice)

    catch_up()
    assert AlertSummary.objects.get(alert=alert_of(incident, alice)).to_acceptance_s is None
    today = datetime.date.today()
    assert registry.alerting_figures(registry.Period(today, today), []).alerts_accepted == 0


# --- Someone who had been on scene ------------------------------------------------------------------


def test_a_realerted_responder_who_had_been_on_scene_keeps_the_record_that_they_went(carol, alice):
    incident = dispatched(carol, responder_ids=[alice.pk])
    answer(incident, alice, "accept")
    answer(incident, alice, "en_route")
    went = answer(incident, alice, "on_scene")

    alert = stand_down_and_alert_again(carol, incident, alice)

    assert alert.state == AlertState.ALERTED and alert.realerted_at is not None
    assert (alert.accepted_at, alert.en_route_at, alert.on_scene_at) == (
        went.accepted_at,
        went.en_route_at,
        went.on_scene_at,
    )
    # Attended (and accepted, as they did), but not going until they accept again.
    counts = coverage.coverage_of(incident)
    assert (counts.attended, counts.accepted, counts.committed, counts.covering) == (1, 1, 0, 0)
    # Their arrival is timed from the alert it answered, the first.
    assert Alert.answered_alert(alert.alerted_at, alert.realerted_at, alert.on_scene_at) == alert.alerted_at


# --- The automatic re-alert when cover drops ---------------------------------------------------------


def test_the_automatic_realert_when_cover_drops_records_when_it_went_out(carol, alice, bob):
    incident = dispatched(carol, crew_target=1)
    answer(incident, bob, "received")
    answer(incident, alice, "accept")
    run_due_escalations(now=Incident.objects.get(pk=incident.pk).covered_at + datetime.timedelta(seconds=30))
    stood_down = alert_of(incident, bob)
    assert (stood_down.state, stood_down.stood_down_reason) == (AlertState.STOOD_DOWN, StandDownReason.ENOUGH_CREWS)
    first_alert_earlier(stood_down)

    answer(incident, alice, "decline", reason="no_transport")

    bob_alert = alert_of(incident, bob)
    assert bob_alert.state == AlertState.ALERTED
    assert bob_alert.alerted_at == stood_down.alerted_at - MINUTES_7
    assert bob_alert.realerted_at is not None and bob_alert.realerted_at > bob_alert.alerted_at + MINUTES_7
    assert bob_alert.received_at is None
    figures = board_incident(Incident.objects.get(pk=incident.pk))
    assert (figures["accepted_count"], figures["committed_count"]) == (0, 0)
    shown = board_alert(bob_alert)
    assert shown["realerted_at"] == bob_alert.realerted_at.isoformat()
    latest = ResponderEvent.objects.filter(responder=bob, type="alert.created").order_by("id").last()
    assert latest.data["alert"]["realerted_at"] == shown["realerted_at"]
    # Shown on his phone a few seconds after the re-alert: "+0:0s", not "+7:0s".
    answer(incident, bob, "received")
    bob_alert = alert_of(incident, bob)
    since = Alert.answered_alert(bob_alert.alerted_at, bob_alert.realerted_at, bob_alert.received_at)
    assert (bob_alert.received_at - since).total_seconds() < 60


def test_an_acceptance_stood_down_then_realerted_by_name_and_then_by_the_system_stays_cleared(carol, alice, bob):
    # The trial's path to a stale acceptance on an automatic re-alert: Bob accepts, is stood down
    # and named again (his acceptance cleared), is stood down by "enough crews", and is alerted again
    # when Alice drops out: nothing of his first acceptance comes back.
    incident = dispatched(carol, crew_target=1)
    answer(incident, bob, "accept")
    stand_down_and_alert_again(carol, incident, bob)
    answer(incident, alice, "accept")
    run_due_escalations(now=Incident.objects.get(pk=incident.pk).covered_at + datetime.timedelta(seconds=30))
    assert alert_of(incident, bob).stood_down_reason == StandDownReason.ENOUGH_CREWS

    answer(incident, alice, "decline", reason="no_transport")

    bob_alert = alert_of(incident, bob)
    assert (bob_alert.state, bob_alert.accepted_at) == (AlertState.ALERTED, None)
    assert coverage.coverage_of(incident).accepted == 0


# --- The API's answer -----------------------------------------------------------------------------


def test_the_incident_detail_after_a_named_realert_shows_no_acceptance(carol, alice):
    api = client_for(carol)
    incident = dispatched(carol, responder_ids=[alice.pk])
    alert = alert_of(incident, alice)
    assert client_for(alice.user).post(f"/api/v1/alerts/{alert.pk}/respond/", {"response": "accept"}, format="json")
    assert api.post(f"/api/v1/incidents/{incident.pk}/stand-down/", {"alert_ids": [alert.pk]}, format="json")
    response = api.post(f"/api/v1/incidents/{incident.pk}/dispatch/", {"responder_ids": [alice.pk]}, format="json")
    assert response.status_code == 200, response.content
    assert client_for(alice.user).post(f"/api/v1/alerts/{alert.pk}/respond/", {"response": "received"}, format="json")

    body = api.get(f"/api/v1/incidents/{incident.pk}/").json()

    assert_matches("incident_detail", body)
    [shown] = body["alerts"]
    assert (shown["state"], shown["accepted_at"], shown["realerted_at"] is not None) == ("received", None, True)
    assert shown["alerted_at"] == alert.alerted_at.isoformat()
    assert (body["accepted_count"], body["committed_count"]) == (0, 0)
