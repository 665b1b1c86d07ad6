"""send_crew_message and acknowledge_crew_message: who is told, what is stored, what is audited."""

import pytest

from backend.audit.models import AuditEntry
from backend.delivery.models import Delivery, Kind
from backend.delivery.subscriptions import subscribe_device
from backend.dispatch.actions import cancel_incident, close_incident, dispatch_incident, respond_to_alert, stand_down
from backend.dispatch.messages import acknowledge_crew_message, messages_of, send_crew_message
from backend.dispatch.models import CrewMessage, MessageAcknowledgement
from backend.errors import Conflict, InvalidInput, NotAllowed, NotFound
from backend.realtime.events import stored_envelope
from backend.realtime.models import ResponderEvent
from tests.conftest import browser_subscription, make_firefighter
from tests.realtime.sockets import assert_valid_frame


@pytest.fixture
def alerts(incident, carol, alice, bob, stations):
    make_firefighter("ella", stations["norwich"])
    return {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}


def message_events(type="message.created"):
    return {
        e.responder.user.username: e for e in ResponderEvent.objects.filter(type=type).select_related("responder__user")
    }


def test_it_tells_everyone_still_part_of_the_incident_but_not_those_who_left(alerts, carol, incident):
    respond_to_alert(actor=alerts["alice"].responder.user, alert_id=alerts["alice"].pk, response="accept")
    respond_to_alert(
        actor=alerts["bob"].responder.user, alert_id=alerts["bob"].pk, response="decline", reason="unavailable"
    )

    message = send_crew_message(actor=carol, incident_id=incident.pk, text="  Access by the rear door  ")

    assert message.text == "Access by the rear door"
    assert message.recipient_count == 2
    events = message_events()
    assert sorted(events) == ["alice", "ella"]
    for username, event in events.items():
        frame = assert_valid_frame(stored_envelope(event))
        assert frame["data"]["alert_id"] == alerts[username].pk
        assert frame["data"]["message"]["text"] == "Access by the rear door"
        assert frame["data"]["message"]["acknowledgements"] == []


def test_a_stood_down_responder_is_not_told(alerts, carol, incident):
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alerts["ella"].pk])
    send_crew_message(actor=carol, incident_id=incident.pk, text="Ambulance on scene")
    assert sorted(message_events()) == ["alice", "bob"]


def test_it_queues_one_generic_push_per_device_of_each_recipient(alerts, carol, incident):
    for name in ("alice", "bob"):
        subscription = browser_subscription(f"https://fcm.googleapis.com/fcm/send/{name}")
        subscribe_device(
            actor=alerts[name].responder.user,
            endpoint=subscription["endpoint"],
            p256dh=subscription["keys"]["p256dh"],
            auth=subscription["keys"]["auth"],
            label="phone",
        )

    send_crew_message(actor=carol, incident_id=incident.pk, text="First")
    send_crew_message(actor=carol, incident_id=incident.pk, text="Second")

    pushes = Delivery.objects.filter(kind=Kind.MESSAGE)
    assert sorted((d.alert_id, d.round) for d in pushes) == sorted(
        (alerts[name].pk, round) for name in ("alice", "bob") for round in (1, 2)
    )


def test_it_audits_who_sent_it_to_whom_without_the_words(alerts, carol, incident):
    message = send_crew_message(actor=carol, incident_id=incident.pk, text="Patient is Mr Example, 12 Road")
    entry = AuditEntry.objects.get(object_type="crew_message")
    assert (entry.actor, entry.object_id, entry.incident_id) == (carol, str(message.pk), incident.pk)
    assert sorted(entry.detail["recipient_alert_ids"]) == sorted(a.pk for a in alerts.values())
    assert "Example" not in str(entry.detail)


@pytest.mark.parametrize("text", ["", "   ", None, "x" * 281, "Rear\x00door"])
def test_it_refuses_an_empty_or_too_long_message_naming_text(alerts, carol, incident, text):
    with pytest.raises(InvalidInput) as error:
        send_crew_message(actor=carol, incident_id=incident.pk, text=text)
    assert error.value.fields["text"]
    assert not ResponderEvent.objects.filter(type="message.created").exists()


@pytest.mark.parametrize(
    ("text", "identifier"),
    [
        ("Patient is Mr John Brown, NHS number 943 476 5919", "NHS number"),
        ("Patient Mr John Brown, DOB 01/02/1950", "date of birth"),
    ],
)
def test_it_refuses_a_message_with_an_nhs_number_or_date_of_birth_and_tells_nobody(
    alerts, carol, incident, text, identifier
):
    with pytest.raises(InvalidInput) as error:
        send_crew_message(actor=carol, incident_id=incident.pk, text=text)
    assert error.value.fields == {
        "text": [f"This looks like a patient's {identifier}: a message to crews must not identify the patient."]
    }
    assert not CrewMessage.objects.exists()
    assert not ResponderEvent.objects.filter(type="message.created").exists()
    assert not Delivery.objects.filter(kind=Kind.MESSAGE).exists()


@pytest.mark.parametrize(
    "text", ["RV at NR30 1AA, Regent Road car park", "Male aged 67, CPR in progress", "Ring 01493 123456 on arrival"]
)
def test_a_rendezvous_postcode_an_age_or_a_phone_number_is_sent(alerts, carol, incident, text):
    assert send_crew_message(actor=carol, incident_id=incident.pk, text=text).text == text


def test_it_takes_280_characters(alerts, carol, incident):
    assert len(send_crew_message(actor=carol, incident_id=incident.pk, text="x" * 280).text) == 280


@pytest.mark.parametrize("end", [close_incident, lambda **kw: cancel_incident(**kw, reason="Not needed")])
def test_it_refuses_a_message_to_an_incident_that_has_ended(alerts, carol, incident, end):
    end(actor=carol, incident_id=incident.pk)
    with pytest.raises(Conflict):
        send_crew_message(actor=carol, incident_id=incident.pk, text="Too late")


def test_a_firefighter_cannot_send_a_message(alerts, incident):
    with pytest.raises(NotAllowed):
        send_crew_message(actor=alerts["alice"].responder.user, incident_id=incident.pk, text="Hello")


def test_an_acknowledgement_is_stored_once_audited_once_and_told_once(alerts, carol, incident):
    message = send_crew_message(actor=carol, incident_id=incident.pk, text="Ambulance on scene")
    alice = alerts["alice"].responder.user

    first = acknowledge_crew_message(actor=alice, message_id=message.pk)
    again = acknowledge_crew_message(actor=alice, message_id=message.pk)

    assert first.pk == again.pk and first.acknowledged_at == again.acknowledged_at
    assert MessageAcknowledgement.objects.count() == 1
    assert AuditEntry.objects.filter(object_type="message_acknowledgement").count() == 1
    [event] = message_events("message.acknowledged").values()
    frame = assert_valid_frame(stored_envelope(event))
    assert frame["data"]["responder_id"] == alerts["alice"].responder_id
    assert frame["data"]["message_id"] == message.pk


def test_a_responder_not_alerted_to_the_incident_cannot_acknowledge_or_read(alerts, carol, incident, charlie):
    message = send_crew_message(actor=carol, incident_id=incident.pk, text="Ambulance on scene")
    with pytest.raises(NotFound):
        acknowledge_crew_message(actor=charlie.user, message_id=message.pk)
    with pytest.raises(NotFound):
        messages_of(charlie.user, incident.pk)


def test_an_acknowledgement_after_the_incident_closed_is_kept(alerts, carol, incident):
    """A phone offline until the job ended still sends its queued "Got it"."""
    message = send_crew_message(actor=carol, incident_id=incident.pk, text="Ambulance on scene")
    close_incident(actor=carol, incident_id=incident.pk)
    acknowledge_crew_message(actor=alerts["bob"].responder.user, message_id=message.pk)
    assert MessageAcknowledgement.objects.filter(alert=alerts["bob"]).exists()


def test_a_firefighter_reads_the_messages_newest_first_with_only_their_own_acknowledgement(alerts, carol, incident):
    first = send_crew_message(actor=carol, incident_id=incident.pk, text="First")
    second = send_crew_message(actor=carol, incident_id=incident.pk, text="Second")
    acknowledge_crew_message(actor=alerts["alice"].responder.user, message_id=first.pk)
    acknowledge_crew_message(actor=alerts["bob"].responder.user, message_id=first.pk)

    seen_by_alice = messages_of(alerts["alice"].responder.user, incident.pk)
    seen_by_carol = messages_of(carol, incident.pk)

    assert [m["id"] for m in seen_by_alice] == [second.pk, first.pk]
    assert [a["responder_id"] for a in seen_by_alice[1]["acknowledgements"]] == [alerts["alice"].responder_id]
    assert sorted(a["responder_id"] for a in seen_by_carol[1]["acknowledgements"]) == sorted(
        alerts[name].responder_id for name in ("alice", "bob")
    )
