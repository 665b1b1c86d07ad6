"""Answers that really race, on two database connections: coverage is never missed, and nobody is
counted on two incidents. PostgreSQL only: SQLite takes its write lock at BEGIN, so two writers
never interleave there.

Each test holds the first writer at the point where, without the lock under test, the second
would overtake it (a barrier both must reach, with a short timeout). With the lock the second
cannot reach the barrier, which then gives up and lets the first finish.
"""

import contextlib
import os
import threading

import pytest
from django.db import connection

from backend.dispatch import actions
from backend.dispatch.actions import create_incident, dispatch_incident, respond_to_alert
from backend.dispatch.models import Alert, AlertState, Incident
from backend.errors import CommittedElsewhere
from tests.conftest import NORWICH_INCIDENT

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
        reason="needs PostgreSQL: SQLite takes its write lock at BEGIN, so two writers can never race",
    ),
    pytest.mark.django_db(transaction=True),
]

HOLD_S = 1.0


def new_incident(carol, reference):
    incident = create_incident(
        actor=carol,
        cad_reference=reference,
        latitude=NORWICH_INCIDENT[0],
        longitude=NORWICH_INCIDENT[1],
        address="12 Example Road, Norwich",
    )
    dispatch_incident(actor=carol, incident_id=incident.pk)
    return incident


def held_at(module, name: str, barrier: threading.Barrier):
    """module.name, made to wait at `barrier` after running."""
    real = getattr(module, name)

    def waiting(*args, **kwargs):
        result = real(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return result

    return waiting


def at_once(*calls):
    results, errors = [], []

    def run(call):
        try:
            results.append(call())
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results, errors


def test_two_accepts_at_once_cover_the_incident(carol, alice, bob, monkeypatch):
    incident = new_incident(carol, "EEAST-R1")
    alerts = {a.responder.user.username: a for a in incident.alerts.select_related("responder__user")}
    barrier = threading.Barrier(2, timeout=HOLD_S)
    # Hold each answer inside its transaction, before its alert is saved and coverage counted.
    waiting = held_at(actions, "_refuse_if_committed_elsewhere", barrier)
    monkeypatch.setattr(actions, "_refuse_if_committed_elsewhere", waiting)

    _, errors = at_once(
        *[
            lambda person=person: respond_to_alert(
                actor=alerts[person].responder.user, alert_id=alerts[person].pk, response="accept"
            )
            for person in ("alice", "bob")
        ]
    )

    assert errors == []
    incident = Incident.objects.get(pk=incident.pk)
    assert incident.covered_at is not None  # the second saw the first's answer
    assert set(incident.alerts.values_list("state", flat=True)) == {AlertState.ACCEPTED}


def test_one_responder_accepting_two_incidents_at_once_is_counted_on_one(carol, alice, monkeypatch):
    first, second = new_incident(carol, "EEAST-R2"), new_incident(carol, "EEAST-R3")
    alert_ids = [Alert.objects.get(incident=incident, responder=alice).pk for incident in (first, second)]
    barrier = threading.Barrier(2, timeout=HOLD_S)
    waiting = held_at(actions, "_refuse_if_committed_elsewhere", barrier)
    monkeypatch.setattr(actions, "_refuse_if_committed_elsewhere", waiting)

    _, errors = at_once(
        *[
            lambda alert_id=alert_id: respond_to_alert(actor=alice.user, alert_id=alert_id, response="accept")
            for alert_id in alert_ids
        ]
    )

    states = sorted(Alert.objects.filter(pk__in=alert_ids).values_list("state", flat=True))
    # One accepted. The other was either refused (it came second to the check) or stood down by
    # the first's accept (it came second to the lock), never both accepted.
    assert states.count(AlertState.ACCEPTED) == 1
    for error in errors:
        assert isinstance(error, CommittedElsewhere) or "you accepted another incident" in error.message, errors
