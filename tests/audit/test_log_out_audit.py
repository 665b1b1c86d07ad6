"""Logging out of the app is in the audit trail: who, from where, and how many push subscriptions
went with the session; for a firefighter mid-job, also on each of their alerts still active on an
open incident, so that the incident's trail says it. Found by a browser trial: a firefighter logged
out while en route (the app warns, then logs out) and the trail had no entry of it."""

import pytest
from django.test import Client

from backend.audit.models import AuditAction, AuditEntry
from backend.dispatch.actions import cancel_incident, create_incident, dispatch_incident, respond_to_alert
from tests.conftest import browser_subscription
from tests.delivery.test_subscriptions_follow_the_person import PHONE, browser_of, log_out, subscribe

pytestmark = pytest.mark.django_db


def log_outs() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditAction.LOG_OUT).order_by("id"))


def test_logging_out_of_the_app_is_audited_with_who_and_where(alice):
    response = log_out(browser_of(alice.user))

    assert response.status_code == 204
    [entry] = log_outs()
    assert (entry.actor, entry.actor_username, entry.role) == (alice.user, "alice", "firefighter")
    assert (entry.object_type, entry.object_id, entry.incident_id) == ("user", str(alice.user.pk), None)
    assert (entry.channel, entry.ip_address) == ("api", "127.0.0.1")
    assert entry.detail == {"push_subscriptions_removed": 0}
    assert entry.get_action_display() == "Logged out"


def test_it_says_how_many_push_subscriptions_went_with_the_session(alice):
    subscribe(alice.user, browser_subscription(PHONE))

    log_out(browser_of(alice.user), {"endpoint": PHONE})

    [entry] = log_outs()
    assert entry.detail == {"push_subscriptions_removed": 1}


def test_logging_out_mid_job_is_on_the_trail_of_each_incident_still_going(alice, bob, carol):
    going = create_incident(actor=carol, cad_reference="EEAST-1", latitude=52.63, longitude=1.295, address="Norwich")
    unanswered = create_incident(actor=carol, cad_reference="EEAST-2", latitude=52.63, longitude=1.295, address="X")
    ended = create_incident(actor=carol, cad_reference="EEAST-3", latitude=52.63, longitude=1.295, address="Y")
    for incident in (ended, going, unanswered):
        dispatch_incident(actor=carol, incident_id=incident.pk)
    cancel_incident(actor=carol, incident_id=ended.pk, reason="Duplicate call")
    alert = going.alerts.get(responder=alice)
    respond_to_alert(actor=alice.user, alert_id=alert.pk, response="accept")
    respond_to_alert(actor=alice.user, alert_id=alert.pk, response="en_route")
    # Accepting stood her other unanswered alert down ("accepted another incident"): only the job.

    log_out(browser_of(alice.user))

    user_entry, *alert_entries = log_outs()
    assert user_entry.object_type == "user"
    assert [(e.object_type, e.object_id, e.incident_id, e.detail) for e in alert_entries] == [
        ("alert", str(alert.pk), going.pk, {"state": "en_route"})
    ]
    assert alert_entries[0].actor == alice.user and alert_entries[0].channel == "api"


def test_nobody_logged_in_logs_nothing_out(db):
    browser = Client(enforce_csrf_checks=True)
    token = browser.get("/api/v1/auth/csrf/").json()["csrf_token"]
    assert browser.post("/api/v1/auth/logout/", headers={"X-CSRFToken": token}).status_code == 204
    assert log_outs() == []


def test_a_coordinator_logging_out_of_the_api_is_audited_too(carol):
    # No responder: the user's entry only.
    browser = browser_of(carol)
    log_out(browser)
    [entry] = log_outs()
    assert (entry.actor, entry.object_type, entry.role) == (carol, "user", "coordinator")
