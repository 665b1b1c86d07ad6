"""What the CAD's create-and-dispatch call costs, counted (issue 17 item 2: the call within 3x a
plain transaction writing the same rows). Each test here failed before the work it counts was
removed; timings live in bench/dispatch_latency.py, never here."""

import pytest
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext

from backend.accounts.models import Responder
from backend.dispatch.models import Alert
from backend.realtime import events
from backend.realtime.events import BOARD_GROUP, frame_of
from tests.conftest import NORWICH_INCIDENT, make_firefighter, token_client_for

pytestmark = pytest.mark.django_db(transaction=True)

# Authentication (the token, the CAD's permissions: 4), the incident's insert and its dispatch
# time, selection (stations, positions, the eligible with their commitments, the chosen loaded),
# the alerts, their audit entries (and the actor's role), the events (the responders locked, their
# newest ids), the push devices, and the savepoint and transaction statements. Before issue 17 the
# call also locked and re-read the incident it had just made, asked who was alerted to it already,
# read the commitments apart, counted its coverage three times, asked who its crew was, and read
# its alerts back for the answer: 31 for the same dispatch. On 5 December: 21 -> 19 (knox read all the
# CAD's tokens, and the permissions were two queries: tests/api/test_token_check_cost.py) -> 17 (no
# savepoint and release of it around the incident's insert).
CREATE_AND_DISPATCH_QUERIES = 17


@pytest.fixture
def big_station(stations, settings):
    """Norwich with 12 on-call firefighters, all of whom a dispatch may alert."""
    settings.DISPATCH_MAX_PER_STATION = 50
    return [make_firefighter(f"ff{number:02d}", stations["norwich"]) for number in range(12)]


def create_and_dispatch(client, reference: str):
    latitude, longitude = NORWICH_INCIDENT
    body = {"cad_reference": reference, "latitude": latitude, "longitude": longitude, "address": "3 Elm Hill"}
    response = client.post("/api/v1/incidents/", {**body, "dispatch": True}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_it_costs_the_same_queries_for_three_alerted_as_for_twelve(cad, big_station, settings):
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")  # first-use reads (content types) not counted
    counts = {}
    for alerted in (3, 12):
        settings.DISPATCH_MAX_RESPONDERS = alerted
        with CaptureQueriesContext(connection) as queries:
            body = create_and_dispatch(client, f"COST-{alerted}")
        assert len(body["alerts"]) == alerted
        counts[alerted] = len(queries.captured_queries)
    assert counts[3] == counts[12] <= CREATE_AND_DISPATCH_QUERIES, counts


def test_it_answers_with_every_alert_without_reading_them_back(cad, big_station):
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    with CaptureQueriesContext(connection) as queries:
        body = create_and_dispatch(client, "EEAST-0001")
    alerts_read = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "dispatch_alert"."id"')]
    assert alerts_read == []
    stored = Alert.objects.filter(incident_id=body["id"]).order_by("rank")
    assert [alert["id"] for alert in body["alerts"]] == [alert.pk for alert in stored]
    assert [alert["responder_name"] for alert in body["alerts"]] == [alert.responder.display_name for alert in stored]
    assert body["committed_count"] == 0 and body["dispatched_at"] and body["dispatch"]["alerted_count"] == 12


def test_selection_builds_only_the_responders_it_alerts(cad, big_station, settings):
    """Twelve on call in range, three alerted: the other nine are ranked from their ids and
    stations, never built as Responder objects with their stations and users."""
    settings.DISPATCH_MAX_RESPONDERS = 3
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    built = []

    def count(sender, instance, **kwargs):
        built.append(instance)

    post_init.connect(count, sender=Responder)
    try:
        body = create_and_dispatch(client, "EEAST-0001")
    finally:
        post_init.disconnect(count, sender=Responder)
    assert len(body["alerts"]) == 3
    assert len(built) == 3


def test_the_board_is_told_of_the_new_incident_once_as_the_dispatch_left_it(cad, big_station, monkeypatch):
    # What the action hands over for the board group, in its order (read at the hand-over rather
    # than from a channel layer: Redis does not keep the order of one batch's concurrent sends,
    # and a receive cut off by a time-out leaves channels_redis's receive lock on a dead loop).
    sent = []
    hand_over = events.send_on_commit

    def recorded(messages):
        sent.extend(frame_of(message) for group, message in messages if group == BOARD_GROUP)
        hand_over(messages)

    monkeypatch.setattr(events, "send_on_commit", recorded)

    body = create_and_dispatch(token_client_for(cad), "EEAST-0001")

    incidents = [frame["data"] for frame in sent if frame["type"] == "board.incident"]
    assert len(incidents) == 1
    assert incidents[0]["id"] == body["id"] and incidents[0]["dispatched_at"] == body["dispatched_at"]
    assert [frame["type"] for frame in sent] == ["board.devices", *["board.alert"] * 12, "board.incident"]


def test_the_incident_is_inserted_without_a_savepoint_of_its_own(cad, big_station):
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    with CaptureQueriesContext(connection) as queries:
        create_and_dispatch(client, "EEAST-0001")
    savepoints = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" in q["sql"].upper()]
    assert savepoints == []  # was SAVEPOINT and RELEASE SAVEPOINT


def test_a_duplicate_create_and_dispatch_is_refused_naming_the_incident_and_alerts_nobody(cad, big_station):
    client = token_client_for(cad)
    first = create_and_dispatch(client, "EEAST-0001")
    latitude, longitude = NORWICH_INCIDENT
    body = {"cad_reference": "EEAST-0001", "latitude": latitude, "longitude": longitude, "address": "3 Elm Hill"}
    response = client.post("/api/v1/incidents/", {**body, "dispatch": True}, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["error"]["existing_incident_id"] == first["id"]
    assert Alert.objects.count() == len(first["alerts"])
