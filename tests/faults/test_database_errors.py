"""When the database fails under a request, the API answers a clear 503 (never a 500, never a
success) and leaves nothing half-done. Runs on any database: the failure is raised where the
database would raise it. tests/faults/test_faults.py cuts a real PostgreSQL off."""

import pytest
from django.db import InterfaceError, OperationalError

from backend.dispatch import actions
from backend.dispatch.models import Alert, Incident
from backend.realtime.models import ResponderEvent
from tests.api.helpers import assert_error
from tests.conftest import token_client_for

NEW = {"cad_reference": "EEAST-2026-0503", "latitude": 52.63, "longitude": 1.295, "address": "3 Elm Hill, Norwich"}


def _fail_with(error):
    def fail(*args, **kwargs):
        raise error

    return fail


@pytest.mark.parametrize(
    "error", [OperationalError("connection to server failed"), InterfaceError("connection already closed")]
)
def test_a_database_failure_is_a_503_json_error_saying_to_try_again(cad, alice, monkeypatch, error):
    # The incident's insert: the first write of the CAD's call (create_incident's, too).
    monkeypatch.setattr(actions, "_insert_incident", _fail_with(error))

    response = token_client_for(cad).post("/api/v1/incidents/", {**NEW, "dispatch": True}, format="json")

    body = assert_error(response, 503, "database_unavailable")
    assert "Try again" in body["message"]
    assert response["Retry-After"] == "5"


def test_a_dispatch_that_fails_after_the_incident_is_created_leaves_no_incident_behind(cad, alice, bob, monkeypatch):
    """Regression: create and dispatch were two transactions, so a database failure (or a killed
    process) between them left an incident nobody was alerted to, and the CAD's retry was refused
    as a duplicate (409): the alert was lost. Now both commit together or not at all."""
    monkeypatch.setattr(actions, "alert_more_responders", _fail_with(OperationalError("server closed the connection")))

    response = token_client_for(cad).post("/api/v1/incidents/", {**NEW, "dispatch": True}, format="json")

    assert_error(response, 503, "database_unavailable")
    assert not Incident.objects.exists()
    monkeypatch.undo()
    retried = token_client_for(cad).post("/api/v1/incidents/", {**NEW, "dispatch": True}, format="json")
    assert retried.status_code == 201, retried.content
    assert {alert["responder_name"] for alert in retried.json()["alerts"]} == {"Alice", "Bob"}
    assert Alert.objects.count() == ResponderEvent.objects.filter(type="alert.created").count() == 2
