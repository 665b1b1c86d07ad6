"""Fixtures for the after-call records: an incident in Norwich, dispatched; alice, bob and erin
(Norwich's crew lead) alerted. Each test accepts the alerts it needs."""

import datetime
import uuid

import pytest
from django.utils import timezone

from backend.dispatch.actions import dispatch_incident, respond_to_alert
from backend.dispatch.models import Incident
from backend.records import actions
from backend.records.models import RecordKind
from tests.conftest import client_for


@pytest.fixture
def alerts(incident, carol, alice, bob, erin):
    # The call came in an hour ago, so the forms' times (minutes ago) come after it.
    Incident.objects.filter(pk=incident.pk).update(created_at=ago(hours=1))
    incident.refresh_from_db()
    return {alert.responder.user.username: alert for alert in dispatch_incident(actor=carol, incident_id=incident.pk)}


def accept(alert):
    return respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="accept")


@pytest.fixture
def alice_alert(alerts):
    return accept(alerts["alice"])


@pytest.fixture
def bob_alert(alerts):
    return accept(alerts["bob"])


@pytest.fixture
def erin_alert(alerts):
    return accept(alerts["erin"])


def ago(**kwargs) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**kwargs)


def iso(value: datetime.datetime) -> str:
    return value.isoformat()


def submit(alert, kind=RecordKind.ATTENDANCE, key=None, **fields):
    """Submit a form as the alert's firefighter, straight through the action."""
    return actions.submit_record(
        actor=alert.responder.user,
        kind=kind,
        alert_id=alert.pk,
        idempotency_key=key or uuid.uuid4(),
        fields=fields,
    )


def valid_outcome(**overrides) -> dict:
    """An outcome that breaks no rule: a bystander-witnessed arrest, one shock, ROSC at handover."""
    return {
        "resuscitation_attempted": True,
        "location_type": "home",
        "witnessed": "bystander",
        "bystander_cpr": "yes",
        "compressions": True,
        "ventilation": "bag_valve_mask",
        "defibrillator_applied": True,
        "first_rhythm": "shock_advised",
        "crew_shocks": 1,
        "crew_arrived_at": iso(ago(minutes=20)),
        "cpr_started_at": iso(ago(minutes=19)),
        "pads_on_at": iso(ago(minutes=18)),
        "first_shock_at": iso(ago(minutes=17)),
        "rosc_at": iso(ago(minutes=12)),
        "ambulance_arrived_at": iso(ago(minutes=10)),
        "handover_at": iso(ago(minutes=5)),
        "rosc_any_time": True,
        "rosc_at_handover": True,
        "age_band": "55_74",
        "sex": "female",
        **overrides,
    }


def api_post(user, url, body):
    return client_for(user).post(url, body, format="json")


def body(key=None, **fields) -> dict:
    return {"idempotency_key": str(key or uuid.uuid4()), **fields}
