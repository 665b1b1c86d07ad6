"""Stop on the phone's position sharing reaches the server (DELETE /api/v1/alerts/{id}/positions/):
kept on the alert, audited, and the board and the crew are told (`position.cleared`) to drop the
position, its estimate and "Likely first"; nothing is served until "Share again" (the next fix).
Found by a browser trial: the phone said "Not sharing your position." while the wall still read
"Likely first: Sam Barker (1 min)" and "1.2 km · about 1 min (estimate)" minutes later
(backend/dispatch/positions.py, stop_sharing; docs/positions.md)."""

import pytest

from backend.audit.models import AuditAction, AuditEntry
from backend.dispatch import actions
from backend.realtime import events
from backend.realtime.events import frame_of
from backend.sockets.consumers import _board_snapshot
from tests.api.helpers import assert_matches
from tests.api.test_positions_api import share
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """Every (group, frame) sent to sockets, as sent (after commit in real life)."""
    frames = []
    monkeypatch.setattr(
        events, "send_on_commit", lambda messages: frames.extend((group, frame_of(m)) for group, m in messages)
    )
    return frames


@pytest.fixture
def alerts(incident, carol, alice, bob):
    made = actions.dispatch_incident(actor=carol, incident_id=incident.pk)
    return {alert.responder.user.username: alert for alert in made}


@pytest.fixture
def accepted(alerts, alice):
    actions.respond_to_alert(actor=alice.user, alert_id=alerts["alice"].pk, response="accept")
    return alerts["alice"]


def stop(user, alert):
    return client_for(user).delete(f"/api/v1/alerts/{alert.pk}/positions/")


def served(coordinator, alert) -> list[dict]:
    return client_for(coordinator).get(f"/api/v1/incidents/{alert.incident_id}/positions/").json()["positions"]


def test_stop_drops_the_position_from_the_boards_and_is_audited(accepted, alice, carol, sent):
    assert share(alice.user, accepted).status_code == 201
    assert [p["alert_id"] for p in served(carol, accepted)] == [accepted.pk]
    sent.clear()

    assert stop(alice.user, accepted).status_code == 204

    cleared = [(group, frame) for group, frame in sent if frame["type"] == "position.cleared"]
    assert {group for group, _ in cleared} >= {events.BOARD_GROUP, events.responder_group(alice.pk)}
    for _, frame in cleared:
        assert_matches("event.position.cleared", frame)
        assert frame["data"]["alert_id"] == accepted.pk
    assert served(carol, accepted) == []
    snapshot = _board_snapshot.func(carol, None)
    [incident] = [item for item in snapshot["incidents"] if item["id"] == accepted.incident_id]
    assert incident["positions"] == []
    entry = AuditEntry.objects.get(action=AuditAction.CHANGE, object_type="alert", object_id=str(accepted.pk))
    assert (entry.actor, entry.incident_id) == (alice.user, accepted.incident_id)
    assert entry.detail == {"position_sharing": "stopped"}


def test_stopping_twice_or_after_the_job_does_nothing_more(accepted, alice, sent):
    share(alice.user, accepted)
    assert stop(alice.user, accepted).status_code == 204
    sent.clear()
    assert stop(alice.user, accepted).status_code == 204
    assert sent == []
    assert AuditEntry.objects.filter(action=AuditAction.CHANGE, object_type="alert").count() == 1


def test_share_again_resumes_it(accepted, alice, carol, sent):
    share(alice.user, accepted)
    stop(alice.user, accepted)
    sent.clear()

    # At once after Stop (within the minimum interval): still taken, as it resumes the sharing.
    assert share(alice.user, accepted).status_code == 201
    assert [p["alert_id"] for p in served(carol, accepted)] == [accepted.pk]
    assert any(frame["type"] == "position.updated" for _, frame in sent)
    assert AuditEntry.objects.filter(action=AuditAction.CHANGE, detail={"position_sharing": "resumed"}).count() == 1


def test_only_the_alert_s_own_firefighter_may_stop_it(accepted, alice, bob, carol):
    share(alice.user, accepted)
    assert stop(bob.user, accepted).status_code == 404
    assert stop(carol, accepted).status_code in (403, 404)
    assert [p["alert_id"] for p in served(carol, accepted)] == [accepted.pk]


def test_an_alert_no_longer_going_is_not_stopped_again(accepted, alice, sent):
    share(alice.user, accepted)
    actions.respond_to_alert(actor=alice.user, alert_id=accepted.pk, response="cleared")
    sent.clear()
    assert stop(alice.user, accepted).status_code == 204
    assert sent == []
