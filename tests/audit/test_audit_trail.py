"""The audit trail: an entry for every create, view, change and amendment of a record and every
alert state change, with who, role, what, when and from where, and never the health data."""

import json
import uuid

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from backend.audit.models import AuditEntry
from backend.dispatch.actions import close_incident, dispatch_incident, respond_to_alert, stand_down
from backend.dispatch.escalation import run_due_escalations
from backend.records import actions
from tests.conftest import client_for
from tests.records.conftest import accept, ago, body, iso, submit

SECRET_NOTE = "Patient Mrs Example said her chest hurt"


def entries(**filters):
    return list(AuditEntry.objects.filter(**filters).order_by("id"))


def all_details() -> str:
    return json.dumps([entry.detail for entry in AuditEntry.objects.all()])


# --- Records ------------------------------------------------------------------------------------------


def test_creating_viewing_changing_and_amending_a_record_through_the_api(alerts, alice, carol):
    alert = accept(alerts["alice"])
    client = client_for(alice.user)
    url = f"/api/v1/alerts/{alert.pk}/attendance/"

    client.post(url, body(attended=True, appliance="21P1", notes=SECRET_NOTE), format="json")
    record_id = str(alert.attendance.pk)
    client.get(url)
    client.patch(url, body(reason="Second pump", appliance="21P2"), format="json")
    client_for(carol).post(
        f"/api/v1/records/attendance/{record_id}/amend/", body(reason="Rota", attended=False), format="json"
    )

    trail = entries(object_type="attendance")
    assert [(entry.action, entry.actor, entry.role) for entry in trail] == [
        ("create", alice.user, "firefighter"),
        ("view", alice.user, "firefighter"),
        ("change", alice.user, "firefighter"),
        ("amend", carol, "coordinator"),
    ]
    for entry in trail:
        assert (entry.object_id, entry.incident_id, entry.channel) == (record_id, alert.incident_id, "api")
        assert entry.ip_address == "127.0.0.1" and entry.at is not None
        assert entry.actor_username == entry.actor.username
    assert trail[0].detail == {"fields": ["appliance", "attended", "notes"]}
    assert trail[2].detail["changed_fields"] == ["appliance"] and trail[2].detail["version"] == 2
    assert trail[3].detail["changed_fields"] == ["attended"]
    # Field names only: no values, no reasons, no notes.
    for value in (SECRET_NOTE, "21P1", "21P2", "Second pump", "Rota"):
        assert value not in all_details()


def test_an_empty_form_is_not_a_record_view(alerts, alice):
    alert = accept(alerts["alice"])
    client_for(alice.user).get(f"/api/v1/alerts/{alert.pk}/attendance/")
    assert entries(object_type="attendance") == []


def test_a_retry_and_an_already_submitted_refusal_are_audited_as_views(alerts, alice):
    alert = accept(alerts["alice"])
    key = uuid.uuid4()
    submit(alert, key=key, attended=True)
    submit(alert, key=key, attended=True)
    with pytest.raises(actions.AlreadySubmitted):
        submit(alert, attended=True)
    assert [entry.action for entry in entries(object_type="attendance")] == ["create", "view", "view"]
    assert entries(object_type="attendance")[1].detail == {"retry": True}


def test_refused_submissions_write_nothing(alerts, alice):
    alert = accept(alerts["alice"])
    with pytest.raises(actions.InvalidInput):
        submit(alert, attended=True, on_scene_at=iso(ago(days=1)))
    assert entries(object_type="attendance") == []


def test_welfare_reads_by_a_welfare_lead_are_audited_one_entry_each(alerts, wendy):
    first = submit(accept(alerts["alice"]), "welfare", impact=4, notes=SECRET_NOTE)[0]
    second = submit(accept(alerts["bob"]), "welfare", impact=1)[0]
    client_for(wendy).get("/api/v1/welfare-check-ins/")
    views = entries(object_type="welfare", action="view")
    assert sorted(entry.object_id for entry in views) == sorted([str(first.pk), str(second.pk)])
    assert {(entry.actor, entry.role, entry.channel) for entry in views} == {(wendy, "welfare_lead", "api")}
    assert SECRET_NOTE not in all_details()


# --- Alert state changes -----------------------------------------------------------------------------------


def test_every_alert_state_change_is_audited_with_actor_and_role(incident, carol, alice, bob, erin):
    alerts_made = dispatch_incident(actor=carol, incident_id=incident.pk)
    alice_alert = next(alert for alert in alerts_made if alert.responder == alice)
    respond_to_alert(actor=alice.user, alert_id=alice_alert.pk, response="received")
    respond_to_alert(actor=alice.user, alert_id=alice_alert.pk, response="accept")
    stand_down(actor=carol, incident_id=incident.pk)
    close_incident(actor=carol, incident_id=incident.pk)

    trail = [
        (entry.actor_username, entry.role, entry.object_id, entry.detail["state"])
        for entry in entries(object_type="alert")
    ]
    others = sorted(str(alert.pk) for alert in alerts_made if alert.responder != alice)
    assert trail[:3] == [("carol", "coordinator", str(alert.pk), "alerted") for alert in alerts_made]
    assert trail[3:5] == [
        ("alice", "firefighter", str(alice_alert.pk), "received"),
        ("alice", "firefighter", str(alice_alert.pk), "accepted"),
    ]
    assert sorted(object_id for _, _, object_id, state in trail[5:7]) == others
    assert {(who, state) for who, _, _, state in trail[5:7]} == {("carol", "stood_down")}
    assert trail[7:] == [("carol", "coordinator", str(alice_alert.pk), "stood_down")]
    for entry in entries(object_type="alert"):
        assert entry.incident_id == incident.pk and set(entry.detail) == {"state"}
        assert "Example Road" not in json.dumps(entry.detail)


def test_a_dispatch_writes_its_audit_entries_in_one_insert(incident, carol, alice, bob, erin):
    with CaptureQueriesContext(connection) as queries:
        alerts_made = dispatch_incident(actor=carol, incident_id=incident.pk)
    assert len(alerts_made) == 3
    # On PostgreSQL in the alerts' own statement (WITH ... INSERT INTO "audit_auditentry" ...).
    inserts = [query["sql"] for query in queries if 'INSERT INTO "audit_auditentry"' in query["sql"]]
    assert len(inserts) == 1
    assert len(entries(object_type="alert")) == 3


def test_a_stand_down_writes_its_audit_entries_in_one_insert(incident, carol, alice, bob, erin):
    dispatch_incident(actor=carol, incident_id=incident.pk)
    with CaptureQueriesContext(connection) as queries:
        stand_down(actor=carol, incident_id=incident.pk)
    inserts = [query["sql"] for query in queries if query["sql"].startswith('INSERT INTO "audit_auditentry"')]
    assert len(inserts) == 1
    assert len(entries(object_type="alert", detail__state="stood_down")) == 3


def test_the_escalation_ladder_is_audited_as_the_system(incident, carol, alice, charlie, settings):
    """The second ring (Great Yarmouth) is alerted by the ladder, not by a person."""
    from django.utils import timezone

    dispatch_incident(actor=carol, incident_id=incident.pk)
    type(incident).objects.filter(pk=incident.pk).update(next_escalation_at=timezone.now())
    run_due_escalations()
    by_system = entries(object_type="alert", role="system")
    assert [entry.actor for entry in by_system] == [None] * len(by_system)
    assert by_system and {entry.channel for entry in by_system} == {"system"}


def test_answering_through_the_api_records_the_channel_and_address(incident, carol, alice):
    [alert] = dispatch_incident(actor=carol, incident_id=incident.pk)
    client_for(alice.user).post(f"/api/v1/alerts/{alert.pk}/respond/", {"response": "accept"}, format="json")
    [entry] = entries(object_type="alert", detail__state="accepted")
    assert (entry.channel, entry.ip_address, entry.role) == ("api", "127.0.0.1", "firefighter")


# --- Append-only ----------------------------------------------------------------------------------------


@pytest.fixture
def entry(incident, carol, alice):
    dispatch_incident(actor=carol, incident_id=incident.pk)
    return AuditEntry.objects.get(object_type="alert")  # alice's alert (the incident has its own entry)


def test_an_entry_cannot_be_changed_through_the_model_or_a_queryset(entry):
    entry.role = "superuser"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        AuditEntry.objects.filter(pk=entry.pk).update(role="superuser")
    assert AuditEntry.objects.get(pk=entry.pk).role == "coordinator"


def test_an_entry_cannot_be_deleted_through_the_model_or_a_queryset(entry):
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
    with pytest.raises(ValueError, match="append-only"):
        AuditEntry.objects.all().delete()
    with pytest.raises(ValueError, match="append-only"):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.count() == 2  # the alert's and the incident's


def test_the_database_refuses_an_update_even_in_raw_sql(entry):
    """On whichever database the tests run (SQLite, or PostgreSQL with DATABASE_URL)."""
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET role = %s WHERE id = %s", ["superuser", entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).role == "coordinator"


def test_the_audit_trail_names_welfare_check_ins_as_the_records_do():
    """The admin hides entries of this object type from all but welfare leads: if the records' kind
    were renamed without it, check-ins would show to every coordinator."""
    from backend.audit.log import WELFARE_CHECK_INS
    from backend.records.models import RecordKind

    assert RecordKind.WELFARE == WELFARE_CHECK_INS
