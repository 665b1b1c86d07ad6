"""Whom a message to the crews reaches: the M of the boards' "Seen by N of M" (backend/dispatch/
messages.py). Found by a browser trial: a message sent to one responder, a second alerted to the
incident later read it on their phone and said "Got it", and both boards said "Seen by 2 of 1". A
responder alerted after a message, who can read it, counts among those it reaches; so does one who
acknowledges it without having been told. The server keeps the count; the boards hear it in the
message, the snapshot and `message.recipients`, which comes before the acknowledgement needing it."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from backend.dispatch import messages
from backend.dispatch.actions import dispatch_incident, respond_to_alert, stand_down
from backend.dispatch.messages import (
    acknowledge_crew_message,
    board_messages_of,
    messages_of,
    send_crew_message,
)
from backend.dispatch.models import Alert, CrewMessage
from backend.realtime import events
from backend.realtime.events import BOARD_GROUP, frame_of
from tests.api.helpers import assert_matches
from tests.conftest import client_for
from tests.realtime.sockets import assert_valid_frame

pytestmark = pytest.mark.django_db


@pytest.fixture
def board_frames(monkeypatch):
    """The frames handed over for the boards, in their order (as test_dispatch_call_cost reads them)."""
    sent = []
    hand_over = events.send_on_commit

    def recorded(items):
        sent.extend(assert_valid_frame(frame_of(message)) for group, message in items if group == BOARD_GROUP)
        hand_over(items)

    monkeypatch.setattr(events, "send_on_commit", recorded)
    return sent


def alert_named(carol, incident, responder) -> Alert:
    [alert] = dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[responder.pk])
    return alert


def what_a_board_shows(frames) -> dict[int, tuple[int, int]]:
    """Each message's (acknowledgements, recipients) as a board folding these frames shows them,
    checked after every frame: never more acknowledgements than recipients."""
    counts: dict[int, int] = {}
    acks: dict[int, set[int]] = {}
    for frame in frames:
        data = frame["data"]
        if frame["type"] == "message.created":
            counts[data["message"]["id"]] = data["message"]["recipient_count"]
        elif frame["type"] == "message.recipients":
            for item in data["messages"]:
                counts[item["message_id"]] = item["recipient_count"]
        elif frame["type"] == "message.acknowledged":
            acks.setdefault(data["message_id"], set()).add(data["responder_id"])
        else:
            continue
        for message_id, who in acks.items():
            assert len(who) <= counts.get(message_id, 0), f"a board says {len(who)} of {counts.get(message_id)}"
    return {message_id: (len(acks.get(message_id, ())), count) for message_id, count in counts.items()}


def test_a_responder_alerted_after_the_message_who_says_got_it_is_one_it_reaches(
    carol, alice, bob, incident, board_frames
):
    first = alert_named(carol, incident, alice)
    message = send_crew_message(actor=carol, incident_id=incident.pk, text="Access by the rear door")
    assert message.recipient_count == 1
    later = alert_named(carol, incident, bob)  # their app reads the incident's messages with the alert

    acknowledge_crew_message(actor=later.responder.user, message_id=message.pk)
    acknowledge_crew_message(actor=first.responder.user, message_id=message.pk)

    for payload in (messages_of(carol, incident.pk)[0], board_messages_of([incident])[0]):
        assert_matches("crew_message", payload)
        assert (len(payload["acknowledgements"]), payload["recipient_count"]) == (2, 2)
    body = client_for(carol).get(f"/api/v1/incidents/{incident.pk}/messages/").json()
    assert (len(body["messages"][0]["acknowledgements"]), body["messages"][0]["recipient_count"]) == (2, 2)
    # Bob's own view carries the same count.
    assert messages_of(later.responder.user, incident.pk)[0]["recipient_count"] == 2
    # The boards heard the count grow when Bob was alerted, before his "Got it".
    assert what_a_board_shows(board_frames) == {message.pk: (2, 2)}
    grown = [frame for frame in board_frames if frame["type"] == "message.recipients"]
    assert [frame["data"] for frame in grown] == [
        {"incident_id": incident.pk, "messages": [{"message_id": message.pk, "recipient_count": 2}]}
    ]


def test_a_second_dispatch_after_two_messages_tells_the_boards_once_for_both(carol, alice, bob, incident, board_frames):
    alert_named(carol, incident, alice)
    older = send_crew_message(actor=carol, incident_id=incident.pk, text="Ambulance on scene")
    newer = send_crew_message(actor=carol, incident_id=incident.pk, text="Access by the rear door")
    board_frames.clear()

    dispatch_incident(actor=carol, incident_id=incident.pk)  # Bob, at the same station

    [grown] = [frame for frame in board_frames if frame["type"] == "message.recipients"]
    assert grown["id"] is None
    assert grown["data"]["messages"] == [
        {"message_id": older.pk, "recipient_count": 2},
        {"message_id": newer.pk, "recipient_count": 2},
    ]


def test_one_told_stood_down_and_alerted_again_is_counted_once(carol, alice, bob, incident, board_frames):
    alerts = {a.responder_id: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}
    message = send_crew_message(actor=carol, incident_id=incident.pk, text="Ambulance on scene")
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alerts[bob.pk].pk])
    board_frames.clear()

    alert_named(carol, incident, bob)

    assert CrewMessage.objects.get(pk=message.pk).recipient_count == 2
    assert not [frame for frame in board_frames if frame["type"] == "message.recipients"]


def test_one_stood_down_before_the_message_and_alerted_again_after_it_is_reached(carol, alice, bob, incident):
    alerts = {a.responder_id: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}
    stand_down(actor=carol, incident_id=incident.pk, alert_ids=[alerts[bob.pk].pk])
    message = send_crew_message(actor=carol, incident_id=incident.pk, text="Ambulance on scene")
    assert message.recipient_count == 1

    alert_named(carol, incident, bob)

    assert CrewMessage.objects.get(pk=message.pk).recipient_count == 2


def test_one_who_declined_before_the_message_and_acknowledges_it_is_counted_first(
    carol, alice, bob, incident, board_frames
):
    """Any responder alerted to the incident may read and acknowledge its messages (docs/events.md)."""
    alerts = {a.responder_id: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}
    respond_to_alert(actor=bob.user, alert_id=alerts[bob.pk].pk, response="decline", reason="unavailable")
    message = send_crew_message(actor=carol, incident_id=incident.pk, text="Ambulance on scene")
    assert message.recipient_count == 1
    board_frames.clear()

    acknowledge_crew_message(actor=bob.user, message_id=message.pk)
    acknowledge_crew_message(actor=bob.user, message_id=message.pk)  # a retry: nothing more

    assert [frame["type"] for frame in board_frames] == ["message.recipients", "message.acknowledged"]
    assert board_frames[0]["data"]["messages"] == [{"message_id": message.pk, "recipient_count": 2}]
    assert CrewMessage.objects.get(pk=message.pk).recipient_count == 2


def test_an_acknowledgement_by_one_it_reached_changes_no_count(carol, alice, bob, incident, board_frames):
    from backend.dispatch.models import MessageRecipient

    alerts = {a.responder_id: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}
    message = send_crew_message(actor=carol, incident_id=incident.pk, text="Ambulance on scene")
    board_frames.clear()

    acknowledge_crew_message(actor=alerts[alice.pk].responder.user, message_id=message.pk)

    assert [frame["type"] for frame in board_frames] == ["message.acknowledged"]
    assert CrewMessage.objects.get(pk=message.pk).recipient_count == 2
    assert MessageRecipient.objects.filter(message=message).count() == 2


def queries_of_a_later_dispatch(carol, incident, responder, message_count) -> int:
    for number in range(message_count):
        send_crew_message(actor=carol, incident_id=incident.pk, text=f"Message {number}")
    with CaptureQueriesContext(connection) as queries:
        alert_named(carol, incident, responder)
    return len(queries.captured_queries)


def test_a_later_dispatch_costs_the_same_queries_for_one_message_as_for_five(carol, alice, bob, charlie, dave):
    from backend.dispatch.actions import create_incident
    from backend.dispatch.models import MessageRecipient
    from tests.conftest import NORWICH_INCIDENT

    def new_incident(reference, first):
        made = create_incident(
            actor=carol,
            cad_reference=reference,
            latitude=NORWICH_INCIDENT[0],
            longitude=NORWICH_INCIDENT[1],
            address="1",
        )
        alert_named(carol, made, first)
        return made

    one = queries_of_a_later_dispatch(carol, new_incident("EEAST-0101", alice), bob, 1)
    five = queries_of_a_later_dispatch(carol, new_incident("EEAST-0102", charlie), dave, 5)
    assert one == five
    assert MessageRecipient.objects.filter(message__incident__cad_reference="EEAST-0102").count() == 5 * 2


def test_the_first_dispatch_of_an_incident_reads_no_message(carol, alice, incident):
    """Nobody alerted before: no message can have been sent (send_crew_message refuses one to nobody)."""
    alert = alert_named(carol, incident, alice)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        messages.reach_the_alerted(incident, [alert], nobody_before=True)
    assert queries.captured_queries == []
