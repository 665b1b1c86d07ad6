"""Escalation from stored due times: ring, SMS and alarm steps, each once, only while needed."""

import datetime

import pytest

from backend.delivery.models import Channel, Delivery
from backend.delivery.subscriptions import subscribe_device
from backend.dispatch.actions import cancel_incident, dispatch_incident, respond_to_alert
from backend.dispatch.escalation import escalate_incident, run_due_escalations
from backend.dispatch.models import Incident
from tests.conftest import browser_subscription

LADDER = [(60, "ring"), (90, "sms"), (120, "ring"), (180, "alarm")]


@pytest.fixture(autouse=True)
def ladder(settings):
    settings.ESCALATION_LADDER = LADDER
    settings.DISPATCH_RADIUS_KM = 20
    settings.DISPATCH_NEXT_RINGS_KM = [35, 80]


@pytest.fixture
def dispatched(incident, carol, alice, bob, charlie, dave):
    for responder in (alice, bob, charlie):
        subscribe_device(
            actor=responder.user,
            endpoint=f"https://fcm.googleapis.com/fcm/send/{responder.user.username}",
            label="phone",
            **browser_subscription("https://x")["keys"],
        )
    dispatch_incident(actor=carol, incident_id=incident.pk)
    incident.refresh_from_db()
    return incident


def at(incident, seconds):
    return incident.dispatched_at + datetime.timedelta(seconds=seconds)


def alerted(incident):
    return sorted(a.responder.user.username for a in incident.alerts.all())


def test_dispatch_starts_the_clock(dispatched):
    assert dispatched.next_escalation_at == at(dispatched, 60)
    assert dispatched.escalation_step == 0
    assert alerted(dispatched) == ["alice", "bob"]
    assert Delivery.objects.filter(round=1, channel=Channel.WEBPUSH).count() == 2


def test_nothing_runs_before_it_is_due(dispatched):
    assert run_due_escalations(now=at(dispatched, 59)) == 0
    assert Incident.objects.get(pk=dispatched.pk).escalation_step == 0


def test_a_ring_step_resends_to_the_unanswered_and_alerts_the_next_ring(dispatched):
    alice_alert = dispatched.alerts.get(responder__user__username="alice")
    respond_to_alert(actor=alice_alert.responder.user, alert_id=alice_alert.pk, response="decline", reason="too_far")

    assert run_due_escalations(now=at(dispatched, 61)) == 1

    incident = Incident.objects.get(pk=dispatched.pk)
    assert alerted(incident) == ["alice", "bob", "charlie"]  # Great Yarmouth is in the 35 km ring
    assert incident.ring == 2 and incident.escalation_step == 1
    assert incident.next_escalation_at == at(incident, 90)
    resent = Delivery.objects.filter(round=2)
    assert [d.alert.responder.user.username for d in resent] == ["bob"]  # not alice: she answered
    assert Delivery.objects.filter(round=1, alert__responder__user__username="charlie").count() == 1


def test_a_ring_step_is_urgent_positions_wait_for_it(dispatched, monkeypatch):
    from backend import priority
    from backend.dispatch import actions

    urgent_while_widening = []
    widen = actions.alert_more_responders

    def counted(*args, **kwargs):
        urgent_while_widening.append(priority.urgent_in_flight())
        return widen(*args, **kwargs)

    monkeypatch.setattr(actions, "alert_more_responders", counted)
    assert run_due_escalations(now=at(dispatched, 61)) == 1
    assert urgent_while_widening == [1] and priority.urgent_in_flight() == 0


def test_each_step_runs_once_however_often_it_is_asked(dispatched):
    assert escalate_incident(incident_id=dispatched.pk, now=at(dispatched, 61)) is True
    assert escalate_incident(incident_id=dispatched.pk, now=at(dispatched, 61)) is False
    assert Delivery.objects.filter(round=2).count() == 2
    assert Incident.objects.get(pk=dispatched.pk).escalation_step == 1


def test_a_covered_incident_alerts_nobody_else(dispatched):
    for name in ("alice", "bob"):  # the crew target is 2
        alert = dispatched.alerts.get(responder__user__username=name)
        respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="accept")
    for seconds in (61, 91, 121, 181):
        run_due_escalations(now=at(dispatched, seconds))
    incident = Incident.objects.get(pk=dispatched.pk)
    assert alerted(incident) == ["alice", "bob"]
    assert incident.alarm_raised_at is None
    assert incident.next_escalation_at is None  # paused while covered
    assert not Delivery.objects.filter(round__gt=1, channel=Channel.WEBPUSH).exists()


def test_one_acceptance_short_of_the_target_keeps_the_ladder_going(dispatched):
    bob_alert = dispatched.alerts.get(responder__user__username="bob")
    respond_to_alert(actor=bob_alert.responder.user, alert_id=bob_alert.pk, response="accept")
    run_due_escalations(now=at(dispatched, 61))
    assert alerted(Incident.objects.get(pk=dispatched.pk)) == ["alice", "bob", "charlie"]


def test_a_cancelled_incident_escalates_no_further(dispatched, carol):
    cancel_incident(actor=carol, incident_id=dispatched.pk, reason="Hoax")
    assert run_due_escalations(now=at(dispatched, 500)) == 0
    assert alerted(Incident.objects.get(pk=dispatched.pk)) == ["alice", "bob"]


def test_the_sms_step_texts_exactly_those_whose_device_has_not_shown_the_alert(dispatched, settings):
    alerts = {a.responder.user.username: a for a in dispatched.alerts.select_related("responder__user")}
    for name in ("alice", "bob"):
        alerts[name].responder.phone_number = "+447700900123"
        alerts[name].responder.save()
    respond_to_alert(actor=alerts["alice"].responder.user, alert_id=alerts["alice"].pk, response="received")
    run_due_escalations(now=at(dispatched, 61))  # ring: charlie alerted, no phone number
    run_due_escalations(now=at(dispatched, 91))  # sms
    texts = Delivery.objects.filter(channel=Channel.SMS)
    assert [(d.alert.responder.user.username, d.target) for d in texts] == [("bob", "…123")]


def test_after_the_last_ring_the_board_gets_an_alarm(dispatched):
    for seconds in (61, 91, 121, 181):
        run_due_escalations(now=at(dispatched, seconds))
    incident = Incident.objects.get(pk=dispatched.pk)
    assert incident.alarm_raised_at == at(dispatched, 181)
    assert alerted(incident) == ["alice", "bob", "charlie", "dave"]  # rings of 20, 35 and 80 km


def _with_phone_numbers(incident, *names):
    alerts = {a.responder.user.username: a for a in incident.alerts.select_related("responder__user")}
    for name in names:
        alerts[name].responder.phone_number = "+447700900123"
        alerts[name].responder.save()
    return alerts


def test_the_sms_step_skips_a_responder_whose_phone_sent_a_receipt(dispatched):
    """The app was never opened, but the service worker showed the notification and said so."""
    from backend.delivery.receipts import record_receipt
    from backend.delivery.sending import claim_due

    alerts = _with_phone_numbers(dispatched, "alice", "bob")
    jobs = {job.alert_id: job for job in claim_due(worker="test-worker", limit=10)}
    record_receipt(alert_id=alerts["alice"].pk, token=jobs[alerts["alice"].pk].receipt_token, event="shown")
    run_due_escalations(now=at(dispatched, 61))  # ring: charlie alerted, no phone number
    run_due_escalations(now=at(dispatched, 91))  # sms

    texts = Delivery.objects.filter(channel=Channel.SMS)
    assert [d.alert.responder.user.username for d in texts] == ["bob"]


def test_a_text_waiting_to_be_sent_is_dropped_once_the_incident_is_covered(dispatched):
    from backend.delivery.models import DeliveryState
    from backend.delivery.sending import claim_due

    alerts = _with_phone_numbers(dispatched, "alice", "bob")
    Incident.objects.filter(pk=dispatched.pk).update(crew_target=1)
    claim_due(worker="test-worker", limit=10)  # the first pushes, out of the way
    run_due_escalations(now=at(dispatched, 61))
    run_due_escalations(now=at(dispatched, 91))  # sms: alice and bob texted
    assert Delivery.objects.filter(channel=Channel.SMS, state=DeliveryState.PENDING).count() == 2
    # Before a worker sends the texts, bob accepts: one crew is all this incident needs.
    respond_to_alert(actor=alerts["bob"].responder.user, alert_id=alerts["bob"].pk, response="accept")

    jobs = claim_due(worker="test-worker", limit=20, now=at(dispatched, 92))

    assert not [job for job in jobs if job.channel == Channel.SMS]
    alices = Delivery.objects.get(channel=Channel.SMS, alert=alerts["alice"])
    assert (alices.state, alices.last_error) == (DeliveryState.CANCELLED, "Not sent: enough crews are going.")
