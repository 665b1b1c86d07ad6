"""The CAD's create-and-dispatch describes each alert it makes once for the alerted's event and the
board's frame alike (issue 17 item 2): they were two descriptions of the same alert, unchanged
between the two. The answer still describes the alerts afresh, after the commit."""

import pytest

from backend.dispatch import payloads
from backend.realtime import events
from backend.realtime.events import BOARD_GROUP, frame_of
from backend.realtime.models import ResponderEvent
from tests.api.test_dispatch_call_cost import big_station, create_and_dispatch  # noqa: F401 (a fixture)
from tests.conftest import token_client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_each_alert_is_described_once_for_its_event_and_the_board(cad, big_station, monkeypatch):  # noqa: F811
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    described = []
    original = payloads.board_alert

    def counted(alert):
        described.append(alert.pk)
        return original(alert)

    board_frames = []
    hand_over = events.send_on_commit

    def recorded(messages):
        board_frames.extend(frame_of(message) for group, message in messages if group == BOARD_GROUP)
        hand_over(messages)

    monkeypatch.setattr(payloads, "board_alert", counted)
    monkeypatch.setattr(events, "send_on_commit", recorded)
    body = create_and_dispatch(client, "EEAST-0001")

    alert_ids = [alert["id"] for alert in body["alerts"]]
    assert len(alert_ids) == 12
    # Once in the action (the event and the board's frame), once for the answer: was 3 times each.
    assert sorted(described) == sorted(alert_ids * 2)
    # What the board and the alerted were told is the answer's description of each alert.
    by_id = {alert["id"]: alert for alert in body["alerts"]}
    board_alerts = [frame["data"] for frame in board_frames if frame["type"] == "board.alert"]
    assert board_alerts == body["alerts"]
    phone_only = ("responder_logged_out_at", "responder_on_call", "responder_on_call_changed_at")
    for event in ResponderEvent.objects.filter(type="alert.created", data__alert__incident_id=body["id"]):
        alert = event.data["alert"]
        expected = {key: value for key, value in by_id[alert["id"]].items() if key not in phone_only}
        assert {key: value for key, value in alert.items() if key != "incident"} == expected
        assert alert["incident"]["id"] == body["id"]
