"""An open incident nobody has dispatched sounds the board's alarm UNDISPATCHED_ALARM_SECONDS after it
was created, raised by the worker's escalation pass (backend/dispatch/escalation.py), acknowledged and
audited as the other alarms (kind `undispatched`). Found by a browser trial: an incident created with
`dispatch: false` while the board's list was scrolled down sat above the visible cards, and after
nearly two minutes no alarm had sounded; only the map showed it."""

import datetime
from unittest import mock

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from backend.audit.models import AuditAction, AuditEntry
from backend.dispatch import payloads
from backend.dispatch.actions import cancel_incident, close_incident, create_incident, dispatch_incident
from backend.dispatch.alarms import acknowledgements_for_board
from backend.dispatch.escalation import run_due_escalations
from backend.dispatch.models import Incident
from tests.api.helpers import assert_matches
from tests.conftest import token_client_for
from tests.dispatch.test_board_page import ACKNOWLEDGE, coordinator_api
from tests.dispatch.test_escalation import ladder  # noqa: F401 (autouse: the same ladder and rings)

pytestmark = pytest.mark.django_db

NEW = {"cad_reference": "EEAST-2026-0077", "latitude": 52.63, "longitude": 1.295, "address": "3 Elm Hill, Norwich"}


@pytest.fixture(autouse=True)
def a_minute(settings):
    settings.UNDISPATCHED_ALARM_SECONDS = 60


def after(incident, seconds):
    return incident.created_at + datetime.timedelta(seconds=seconds)


def fresh(incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def board_alarms(send) -> list[dict]:
    return [data for call in send.call_args_list for kind, data in call.args[0] if kind == "board.alarm"]


def test_an_incident_created_without_dispatching_it_is_due_its_alarm_a_minute_later(incident):
    assert incident.dispatched_at is None
    assert fresh(incident).next_escalation_at == after(incident, 60)


def test_the_cad_s_incident_created_without_dispatching_it_is_due_its_alarm_too(cad):
    response = token_client_for(cad).post("/api/v1/incidents/", {**NEW, "dispatch": False}, format="json")
    assert response.status_code == 201, response.content
    incident = Incident.objects.get(pk=response.json()["id"])
    assert incident.next_escalation_at == after(incident, 60)


def test_the_worker_sounds_the_board_s_alarm_for_an_incident_nobody_has_dispatched(incident):
    assert run_due_escalations(now=after(incident, 59)) == 0
    assert fresh(incident).alarm_raised_at is None

    with mock.patch("backend.realtime.events.send_to_board") as send:
        assert run_due_escalations(now=after(incident, 61)) == 1

    raised = fresh(incident)
    assert raised.alarm_raised_at == after(incident, 61)
    assert raised.alarm_message == (
        "Incident EEAST-0001 has not been dispatched 61 s after it was created: nobody is alerted to it."
    )
    [frame] = board_alarms(send)
    assert frame == {
        "incident_id": incident.pk,
        "cad_reference": "EEAST-0001",
        "raised_at": raised.alarm_raised_at.isoformat(),
        "message": raised.alarm_message,
    }
    # Every board hears of it with the incident, and a board opened later reads it from there.
    data = payloads.board_incident(raised)
    assert_matches("board_incident", data)
    assert (data["alarm_raised_at"], data["alarm_message"]) == (frame["raised_at"], frame["message"])
    assert data["dispatched_at"] is None and data["next_escalation_at"] is None
    # Once: the worker does not raise it again.
    assert run_due_escalations(now=after(incident, 600)) == 0
    assert fresh(incident).alarm_raised_at == raised.alarm_raised_at


def test_the_setting_says_when(carol, settings):
    settings.UNDISPATCHED_ALARM_SECONDS = 150
    later = create_incident(actor=carol, cad_reference="EEAST-0002", latitude=52.63, longitude=1.295, address="Norwich")
    assert fresh(later).next_escalation_at == after(later, 150)

    assert run_due_escalations(now=after(later, 149)) == 0
    assert run_due_escalations(now=after(later, 151)) == 1
    assert "has not been dispatched 2 min after it was created" in fresh(later).alarm_message


def test_an_incident_dispatched_in_time_runs_its_ladder_not_this_alarm(incident, carol, alice, bob):
    dispatch_incident(actor=carol, incident_id=incident.pk)
    dispatched = fresh(incident)
    assert dispatched.next_escalation_at == dispatched.dispatched_at + datetime.timedelta(seconds=60)

    run_due_escalations(now=dispatched.dispatched_at + datetime.timedelta(seconds=61))

    after_step = fresh(incident)
    assert after_step.escalation_step == 1  # the ladder's first step (a wider ring)
    assert after_step.alarm_raised_at is None


@pytest.mark.parametrize("ending", ["cancel", "close"])
def test_an_incident_ended_before_its_alarm_sounds_nothing(incident, carol, ending):
    if ending == "cancel":
        cancel_incident(actor=carol, incident_id=incident.pk, reason="Duplicate call")
    else:
        close_incident(actor=carol, incident_id=incident.pk)

    assert run_due_escalations(now=after(incident, 61)) == 0
    assert fresh(incident).alarm_raised_at is None


def test_a_coordinator_acknowledges_it_audited_as_the_other_alarms(carol, incident):
    run_due_escalations(now=after(incident, 61))

    response = coordinator_api(carol).post(
        ACKNOWLEDGE, {"kind": "undispatched", "incident_id": incident.pk}, content_type="application/json"
    )

    assert response.status_code == 201, response.content
    assert_matches("alarm_acknowledgement", response.json())
    assert response.json()["kind"] == "undispatched"
    entry = AuditEntry.objects.get(object_type="alarm_acknowledgement")
    assert (entry.action, entry.actor, entry.incident_id) == (AuditAction.CREATE, carol, incident.pk)
    assert entry.detail == {"kind": "undispatched"}
    [carried] = acknowledgements_for_board([incident.pk])
    assert (carried["kind"], carried["incident_id"]) == ("undispatched", incident.pk)


def test_its_acknowledgement_needs_the_incident(carol, incident):
    response = coordinator_api(carol).post(ACKNOWLEDGE, {"kind": "undispatched"}, content_type="application/json")
    assert response.status_code == 400
    assert "incident_id" in response.json()["error"]["fields"]


# --- The open incidents made before it ------------------------------------------------------------


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("dispatch", target)])
    return executor.loader.project_state([("dispatch", target)]).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_the_open_incidents_not_dispatched_their_alarm(carol):
    old_apps = migrate("0017_alert_first_accepted_at")
    try:
        OldIncident = old_apps.get_model("dispatch", "Incident")
        created = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)
        waiting = OldIncident.objects.create(
            cad_reference="OLD-1", latitude=52.63, longitude=1.295, address="Norwich", created_by_id=carol.pk
        )
        dispatched = OldIncident.objects.create(
            cad_reference="OLD-2",
            latitude=52.63,
            longitude=1.295,
            address="Norwich",
            created_by_id=carol.pk,
            dispatched_at=created,
        )
        ended = OldIncident.objects.create(
            cad_reference="OLD-3",
            latitude=52.63,
            longitude=1.295,
            address="Norwich",
            created_by_id=carol.pk,
            status="cancelled",
        )
        OldIncident.objects.filter(pk__in=[waiting.pk, dispatched.pk, ended.pk]).update(created_at=created)
    finally:
        migrate("0018_undispatched_alarm")
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    due = dict(Incident.objects.values_list("cad_reference", "next_escalation_at"))
    assert due == {"OLD-1": created + datetime.timedelta(seconds=60), "OLD-2": None, "OLD-3": None}
