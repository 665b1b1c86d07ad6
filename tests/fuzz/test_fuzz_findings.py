"""What fuzzing found, one regression test each (found by tests/fuzz/test_api_fuzz.py and
tests/fuzz/test_socket_fuzz.py; see the report in each test's docstring)."""

import uuid

import pytest

from backend.dispatch.actions import dispatch_incident
from backend.sockets.consumers import CloseCode
from tests.api.helpers import assert_error
from tests.conftest import client_for, token_client_for
from tests.realtime.sockets import assert_closed_with, connect, receive_until_sync_ready

TOO_BIG_FOR_ANY_ID = 32589158477190044729  # over 2**64: no database integer holds it
DEEPLY_NESTED = '{"type": "x", "data": ' + "[" * 5000 + "]" * 5000 + "}"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("dispatch", {"station_ids": [TOO_BIG_FOR_ANY_ID]}, "station_ids.0"),
        ("dispatch", {"responder_ids": [TOO_BIG_FOR_ANY_ID]}, "responder_ids.0"),
    ],
)
def test_an_id_too_big_for_the_database_is_a_400_not_a_500(incident, cad, path, body, field):
    """Was: 500 (OverflowError from the database driver in the id lookup)."""
    response = token_client_for(cad).post(f"/api/v1/incidents/{incident.pk}/{path}/", body, format="json")

    assert_error(response, 400, "invalid", field=field)


@pytest.mark.parametrize("occurred_at", ["2024-01-01T12:99:00Z", "2024-13-01T12:00:00Z", "2024-02-30T12:00:00+01:00"])
def test_an_impossible_time_is_a_400_not_a_500(incident, carol, alice, occurred_at):
    """Was: 500 (ValueError from the date parser for a time that matches the format but does not exist)."""
    alert = next(alert for alert in dispatch_incident(actor=carol, incident_id=incident.pk) if alert.responder == alice)
    body = {"idempotency_key": str(uuid.uuid4()), "type": "arrived", "occurred_at": occurred_at}

    response = client_for(alice.user).post(f"/api/v1/alerts/{alert.pk}/events/", body, format="json")

    assert_error(response, 400, "invalid", field="occurred_at")


def test_a_body_nested_too_deeply_is_a_400_not_a_500(cad):
    """Was: 500 (RecursionError from the JSON parser, which DRF does not catch). Now a 400 naming
    the field the nesting starts in (backend/strict_json.py)."""
    client = token_client_for(cad)

    response = client.generic("POST", "/api/v1/incidents/", DEEPLY_NESTED, content_type="application/json")

    assert_error(response, 400, "invalid", field="data")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/ws/responder/", "/ws/coordinator/"])
async def test_a_frame_nested_too_deeply_closes_the_socket_with_4422(alice, carol, path, settings):
    """Was: the consumer crashed (RecursionError from the JSON parser) instead of closing."""
    settings.WEBSOCKET_MAX_MESSAGE_BYTES = 64 * 1024
    socket = await connect(path, alice.user if path == "/ws/responder/" else carol)
    if path == "/ws/responder/":
        await receive_until_sync_ready(socket)
    else:
        await socket.receive_json_from(timeout=3)

    await socket.send_to(text_data=DEEPLY_NESTED)

    await assert_closed_with(socket, CloseCode.INVALID_PAYLOAD)
