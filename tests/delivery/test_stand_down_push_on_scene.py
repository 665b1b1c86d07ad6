"""The lock-screen push when a call ends: those who never reached the scene are told they are not
needed; one who was on scene (Alert.on_scene_at) is told only how the call ended, as they may be in
the middle of CPR, with no clinical guidance either (docs/hazard-log.md, H04 control 7). What the
push needs is read with the worker's claim (Job.attended), not asked per push."""

import datetime
import re

import pytest
from django.utils import timezone

from backend.delivery.models import Kind
from backend.delivery.sending import claim_due
from backend.delivery.subscriptions import subscribe_device
from backend.delivery.transports import Job
from backend.delivery.transports.webpush import push_payload
from backend.dispatch.actions import cancel_incident, close_incident, dispatch_incident, respond_to_alert, stand_down
from backend.dispatch.models import Alert, StandDownReason

NOT_NEEDED = re.compile(r"not needed|no longer needed", re.IGNORECASE)
GUIDANCE = re.compile(r"CPR|carry on|continue|stop|keep going", re.IGNORECASE)


def subscribe(push_service, responder):
    phone = push_service.subscribe()
    subscribe_device(
        actor=responder.user,
        endpoint=phone["endpoint"],
        p256dh=phone["keys"]["p256dh"],
        auth=phone["keys"]["auth"],
        label="phone",
    )


def answer(alert, *responses):
    for response in responses:
        respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response=response)


@pytest.fixture
def alice_on_scene_and_bob_on_the_way(push_service, incident, carol, alice, bob):
    subscribe(push_service, alice)
    subscribe(push_service, bob)
    alerts = {alert.responder.user.username: alert for alert in dispatch_incident(actor=carol, incident_id=incident.pk)}
    answer(alerts["alice"], "accept", "en_route", "on_scene")
    answer(alerts["bob"], "accept", "en_route")
    return alerts


def stand_down_pushes() -> dict[str, dict]:
    """The stand-down pushes the worker would send now, by the firefighter's username."""
    jobs = [job for job in claim_due(worker="test-worker", limit=50) if job.kind == Kind.STAND_DOWN]
    names = dict(Alert.objects.values_list("pk", "responder__user__username"))
    return {names[job.alert_id]: push_payload(job) for job in jobs}


def test_a_cancel_tells_one_on_scene_only_that_it_was_cancelled(alice_on_scene_and_bob_on_the_way, incident, carol):
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance crew took over")

    pushes = stand_down_pushes()

    assert pushes["alice"]["type"] == "alert.cancelled"
    assert pushes["alice"]["notification"]["title"] == "Alert cancelled"
    assert pushes["alice"]["notification"]["body"] == "The incident was cancelled."
    assert pushes["alice"]["attended"] is True
    # Bob never got there: he is free for the next call, and told so.
    assert pushes["bob"]["notification"]["body"] == "The incident was cancelled: you are not needed."
    assert pushes["bob"]["attended"] is False


def test_a_stand_down_tells_one_on_scene_who_stood_them_down_and_no_more(
    alice_on_scene_and_bob_on_the_way, incident, carol
):
    alerts = alice_on_scene_and_bob_on_the_way
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alerts["alice"].pk, alerts["bob"].pk])

    pushes = stand_down_pushes()

    assert pushes["alice"]["type"] == "alert.stood_down"
    assert pushes["alice"]["notification"]["body"] == "A coordinator stood you down."
    assert pushes["alice"]["attended"] is True
    assert pushes["bob"]["notification"]["body"] == "You are no longer needed."


def test_one_who_was_on_scene_and_is_alerted_again_is_never_told_they_are_not_needed_at_the_close(
    push_service, incident, carol, alice
):
    """An arrival is kept through a re-alert (actions._ask_afresh): they went, and may still be there."""
    subscribe(push_service, alice)
    [alert] = dispatch_incident(actor=carol, incident_id=incident.pk)
    answer(alert, "accept", "on_scene")
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alert.pk])
    dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[alice.pk])
    claim_due(worker="test-worker", limit=50)  # the earlier pushes, sent

    close_incident(actor=carol, incident_id=incident.pk)

    push = stand_down_pushes()["alice"]
    assert push["notification"]["body"] == "The incident was closed."
    assert push["attended"] is True


def job(**changes) -> Job:
    return Job(
        delivery_id=1,
        channel="webpush",
        attempts=1,
        round=1,
        alert_id=10,
        incident_id=7,
        alerted_at=timezone.now() - datetime.timedelta(minutes=20),
        **{"kind": Kind.STAND_DOWN, **changes},
    )


@pytest.mark.parametrize("reason", ["", *StandDownReason.values])
@pytest.mark.parametrize("status", ["open", "closed", "cancelled"])
def test_no_stand_down_push_to_one_on_scene_says_not_needed_or_gives_guidance(reason, status):
    payload = push_payload(job(incident_status=status, stood_down_reason=reason, attended=True))
    note = payload["notification"]

    assert note["title"] and note["body"]
    assert not NOT_NEEDED.search(f"{note['title']} {note['body']}")
    assert not GUIDANCE.search(f"{note['title']} {note['body']}")
    assert payload["attended"] is True


def test_an_alert_push_carries_no_attended_flag():
    assert "attended" not in push_payload(job(kind=Kind.ALERT, incident_status="open"))
