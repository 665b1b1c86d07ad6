"""/ws/coordinator/: the board's snapshot on connecting, then live changes; coordinators only.

Every frame received is checked against its JSON Schema (tests/realtime/sockets.py)."""

import datetime

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from backend.dispatch import actions
from backend.dispatch.escalation import escalate_incident
from backend.dispatch.models import Incident
from backend.sockets.consumers import CloseCode
from tests.realtime.sockets import assert_closed_with, connect, dispatch, new_incident, receive_frame, receive_frames

pytestmark = pytest.mark.django_db(transaction=True)

BOARD = "/ws/coordinator/"


async def open_board(user):
    socket = await connect(BOARD, user)
    snapshot = await receive_frame(socket)
    assert snapshot["type"] == "board.snapshot"
    return socket, snapshot


def by_type(frames: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for frame in frames:
        grouped.setdefault(frame["type"], []).append(frame)
    return grouped


async def test_it_sends_a_snapshot_of_open_incidents_and_their_alerts(incident, carol, alice, bob, charlie):
    alerts = await dispatch(carol, incident)
    waiting = await new_incident(carol, "EEAST-0002")
    cancelled = await new_incident(carol, "EEAST-0003")
    await dispatch(carol, cancelled)
    await sync_to_async(actions.cancel_incident)(actor=carol, incident_id=cancelled.pk, reason="Hoax call")
    eleven_minutes_ago = timezone.now() - datetime.timedelta(minutes=11)
    await sync_to_async(Incident.objects.filter(pk=cancelled.pk).update)(cancelled_at=eleven_minutes_ago)
    # Closed just now: a board open at the time keeps its card ten minutes, so this one shows it too.
    closed = await new_incident(carol, "EEAST-0004")
    await sync_to_async(actions.close_incident)(actor=carol, incident_id=closed.pk)

    socket, snapshot = await open_board(carol)

    incidents = {item["id"]: item for item in snapshot["data"]["incidents"]}
    assert set(incidents) == {incident.pk, waiting.pk, closed.pk}
    assert incidents[incident.pk]["dispatched_at"] is not None
    assert incidents[waiting.pk]["dispatched_at"] is None
    assert incidents[closed.pk]["status"] == "closed"
    assert [item["id"] for item in snapshot["data"]["incidents"]] == [
        closed.pk,
        waiting.pk,
        incident.pk,
    ]  # newest first
    board_alerts = {(item["incident_id"], item["responder_name"], item["state"]) for item in snapshot["data"]["alerts"]}
    assert board_alerts == {(incident.pk, "Alice", "alerted"), (incident.pk, "Bob", "alerted")}
    assert {item["id"] for item in snapshot["data"]["alerts"]} == {alerts["alice"].pk, alerts["bob"].pk}
    await socket.disconnect()


async def test_it_sends_an_empty_snapshot_when_nothing_is_open(carol):
    socket, snapshot = await open_board(carol)

    assert snapshot["data"]["incidents"] == [] and snapshot["data"]["alerts"] == []
    assert snapshot["data"]["defibrillators"] == []
    await socket.disconnect()


async def test_the_snapshot_holds_each_open_incidents_nearest_defibrillators(incident, carol):
    from backend.places.models import Defibrillator

    forum = await sync_to_async(Defibrillator.objects.create)(
        source="osm", source_id="node/1", latitude=incident.latitude + 0.002, longitude=incident.longitude,
        access="yes", imported_at=timezone.now(),
    )  # fmt: skip
    waiting = await new_incident(carol, "EEAST-0002")

    socket, snapshot = await open_board(carol)

    nearest = {item["incident_id"]: item for item in snapshot["data"]["defibrillators"]}
    assert set(nearest) == {incident.pk, waiting.pk}
    assert [point["id"] for point in nearest[incident.pk]["defibrillators"]] == [forum.pk]
    assert nearest[incident.pk]["defibrillators"][0]["access_label"] == "Public access"
    assert nearest[incident.pk]["radius_m"] == 1000
    await socket.disconnect()


async def test_it_shows_a_new_incident_live(carol):
    socket, _ = await open_board(carol)

    created = await new_incident(carol, "EEAST-0009")

    frame = await receive_frame(socket)
    assert frame["type"] == "board.incident"
    assert (frame["data"]["id"], frame["data"]["status"], frame["data"]["dispatched_at"]) == (created.pk, "open", None)
    await socket.disconnect()


async def test_it_shows_dispatch_answers_and_cancellation_live(incident, carol, alice, bob):
    socket, _ = await open_board(carol)

    alerts = await dispatch(carol, incident)
    dispatched = by_type(await receive_frames(socket, 4))
    # Neither has a phone registered for pushes: the board says so at once, as after a reload.
    [devices] = dispatched["board.devices"]
    assert {(item["alert_id"], tuple(item["devices"])) for item in devices["data"]["alerts"]} == {
        (alerts["alice"].pk, ()),
        (alerts["bob"].pk, ()),
    }
    assert {frame["data"]["id"] for frame in dispatched["board.alert"]} == {alerts["alice"].pk, alerts["bob"].pk}
    assert {frame["data"]["state"] for frame in dispatched["board.alert"]} == {"alerted"}
    [incident_frame] = dispatched["board.incident"]
    assert incident_frame["data"]["dispatched_at"] is not None
    assert incident_frame["data"]["accepted_count"] == 0

    await sync_to_async(actions.respond_to_alert)(actor=alice.user, alert_id=alerts["alice"].pk, response="accept")
    accepted = by_type(await receive_frames(socket, 2))
    [alert_frame] = accepted["board.alert"]
    assert (alert_frame["data"]["id"], alert_frame["data"]["state"]) == (alerts["alice"].pk, "accepted")
    assert alert_frame["data"]["version"] == 2
    assert accepted["board.incident"][0]["data"]["accepted_count"] == 1

    await sync_to_async(actions.cancel_incident)(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")
    # Alice had accepted: her position is no longer shared (position.cleared, docs/positions.md).
    cancelled = by_type(await receive_frames(socket, 4))
    [position_frame] = cancelled["position.cleared"]
    assert position_frame["data"] == {
        "alert_id": alerts["alice"].pk,
        "incident_id": incident.pk,
        "responder_id": alice.pk,
    }
    assert {(frame["data"]["id"], frame["data"]["state"]) for frame in cancelled["board.alert"]} == {
        (alerts["alice"].pk, "cancelled"),
        (alerts["bob"].pk, "cancelled"),
    }
    [incident_frame] = cancelled["board.incident"]
    assert incident_frame["data"]["status"] == "cancelled"
    assert incident_frame["data"]["cancel_reason"] == "Ambulance on scene"
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_it_raises_the_alarm_on_the_board_when_nobody_accepts(incident, carol, alice, settings):
    settings.ESCALATION_LADDER = [(0, "alarm")]
    await dispatch(carol, incident)
    socket, _ = await open_board(carol)

    ran = await sync_to_async(escalate_incident)(
        incident_id=incident.pk, now=timezone.now() + datetime.timedelta(seconds=1)
    )

    assert ran
    alarm = await receive_frame(socket)
    assert alarm["type"] == "board.alarm"
    assert alarm["data"]["incident_id"] == incident.pk
    assert alarm["data"]["cad_reference"] == "EEAST-0001"
    await socket.disconnect()


async def test_the_alarm_is_raised_afresh_on_the_board_when_the_last_crew_drops_out_after_it_was_acknowledged(
    incident, carol, alice, bob, settings
):
    """Found by a browser trial: one crew going of the two needed, the ladder finished and its alarm
    acknowledged; then the crew declined after accepting, and the board heard of no alarm at all."""
    from backend.dispatch.alarms import acknowledge_alarm

    settings.ESCALATION_LADDER = [(0, "alarm")]
    settings.DISPATCH_CREW_TARGET = 2
    alerts = await dispatch(carol, incident)
    respond = sync_to_async(actions.respond_to_alert)
    await respond(actor=alice.user, alert_id=alerts["alice"].pk, response="accept")
    assert await sync_to_async(escalate_incident)(incident_id=incident.pk, now=timezone.now())
    acknowledgement = await sync_to_async(acknowledge_alarm)(actor=carol, kind="escalation", incident_id=incident.pk)
    socket, snapshot = await open_board(carol)
    [alarmed] = snapshot["data"]["incidents"]
    assert alarmed["alarm_message"] == (
        "Incident EEAST-0001 is still short of crews after every ring was alerted: 1 going (2 needed)."
    )
    assert [ack["kind"] for ack in snapshot["data"]["alarm_acknowledgements"]] == ["escalation"]

    await respond(actor=alice.user, alert_id=alerts["alice"].pk, response="decline", reason="no_transport")

    frames = []
    while not frames or frames[-1]["type"] != "board.incident":
        frames.append(await receive_frame(socket))
    grouped = by_type(frames)
    [alarm] = grouped["board.alarm"]
    message = (
        "Nobody is going to incident EEAST-0001 any more (0 going, 2 needed): "
        "Alice can't attend after all (no transport)."
    )
    assert alarm["data"]["message"] == message
    # Raised after the acknowledgement: every board sounds it until it is acknowledged again.
    raised_at = datetime.datetime.fromisoformat(alarm["data"]["raised_at"])
    assert raised_at > acknowledgement.acknowledged_at
    [incident_frame] = grouped["board.incident"]
    assert incident_frame["data"]["committed_count"] == 0
    assert (incident_frame["data"]["alarm_raised_at"], incident_frame["data"]["alarm_message"]) == (
        alarm["data"]["raised_at"],
        message,
    )
    # The finished ladder has started again.
    assert incident_frame["data"]["escalation_step"] == 0 and incident_frame["data"]["next_escalation_at"]
    await socket.disconnect()


async def test_a_coordinator_s_sign_out_everywhere_shows_the_firefighter_logged_out_on_every_board(
    incident, carol, alice, bob
):
    """The admin's "Sign out everywhere" on a firefighter going to a job: every open board hears
    `board.responder` at once, and a board opened later reads it from her alerts (found in review:
    only the firefighter's own logout told the boards; backend/dispatch/presence.py)."""
    from django.urls import reverse

    from tests.conftest import admin_client_for

    alerts = await dispatch(carol, incident)
    await sync_to_async(actions.respond_to_alert)(actor=alice.user, alert_id=alerts["alice"].pk, response="accept")
    socket, _ = await open_board(carol)

    def sign_out():
        desk = admin_client_for(carol)
        return desk.post(
            reverse("admin:accounts_responder_changelist"),
            {"action": "sign_out_everywhere", "_selected_action": [alice.pk], "index": 0},
        )

    assert (await sync_to_async(sign_out)()).status_code == 302

    frame = await receive_frame(socket)  # checked against event.board.responder.schema.json
    assert frame["type"] == "board.responder"
    assert frame["data"]["responder_id"] == alice.pk and frame["data"]["logged_out_at"] is not None
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()

    later, snapshot = await open_board(carol)
    by_responder = {item["responder_id"]: item for item in snapshot["data"]["alerts"]}
    assert by_responder[alice.pk]["responder_logged_out_at"] == frame["data"]["logged_out_at"]
    assert by_responder[bob.pk]["responder_logged_out_at"] is None
    await later.disconnect()


async def test_it_answers_ping_on_the_board(carol):
    socket, _ = await open_board(carol)

    await socket.send_json_to({"type": "ping"})

    assert (await receive_frame(socket))["type"] == "pong"
    await socket.disconnect()


async def test_it_refuses_alert_ack_on_the_board(incident, carol, alice):
    alerts = await dispatch(carol, incident)
    socket, _ = await open_board(carol)

    await socket.send_json_to({"type": "alert.ack", "alert_id": alerts["alice"].pk})

    error = await receive_frame(socket)
    assert (error["type"], error["data"]["code"]) == ("error", "unknown_type")
    await socket.disconnect()


@pytest.fixture
def user_of(request):
    """The user of the persona named by the test's parameter (a firefighter's is their user)."""
    person = request.getfixturevalue(request.param)
    return getattr(person, "user", person)


@pytest.mark.parametrize("user_of", ["alice", "nobody", "cad"], indirect=True)
async def test_it_closes_the_board_to_anyone_but_coordinators(user_of):
    socket = await connect(BOARD, user_of)

    await assert_closed_with(socket, CloseCode.NOT_ALLOWED)


async def test_it_shows_on_how_many_of_each_responders_phones_the_alert_was_shown(incident, carol, alice, bob):
    """Per responder: how many phones the pushes went to, and on how many the service worker
    showed the notification (its receipt), live and in the snapshot."""
    from rest_framework.test import APIClient

    from backend.delivery.sending import claim_due, record_sent_batch
    from backend.delivery.subscriptions import subscribe_device
    from tests.conftest import browser_subscription

    @sync_to_async
    def subscribe(name):
        endpoint = f"https://fcm.googleapis.com/fcm/send/alice-{name}"
        subscribe_device(actor=alice.user, endpoint=endpoint, label=name, **browser_subscription(endpoint)["keys"])

    @sync_to_async
    def send_pushes():
        jobs = claim_due(worker="test-worker", limit=10)
        record_sent_batch([(job, 201) for job in jobs], worker="test-worker")
        return jobs

    @sync_to_async
    def receipt(job):
        body = {"alert_id": job.alert_id, "token": job.receipt_token, "event": "shown"}
        return APIClient().post("/api/v1/push-receipts/", body, format="json").status_code

    await subscribe("phone")
    await subscribe("tablet")
    socket, _ = await open_board(carol)

    alerts = await dispatch(carol, incident)
    [devices_frame] = by_type(await receive_frames(socket, 4))["board.devices"]  # then 2 alerts, the incident
    told = {item["alert_id"]: item["devices"] for item in devices_frame["data"]["alerts"]}
    assert told[alerts["bob"].pk] == []  # bob has no phone: the board says so
    alices = {"alert_id": alerts["alice"].pk, "devices": told[alerts["alice"].pk]}
    assert sorted(device["label"] for device in alices["devices"]) == ["phone", "tablet"]
    assert all(device["shown_at"] is None for device in alices["devices"])

    jobs = {job.delivery_id: job for job in await send_pushes()}
    sent = await receive_frame(socket)  # the push service accepted both: sent, not shown yet
    assert sent["type"] == "board.devices"
    [alices] = sent["data"]["alerts"]
    assert all(device["sent_at"] and device["shown_at"] is None for device in alices["devices"])
    phone_job = next(job for job in jobs.values() if job.endpoint.endswith("alice-phone"))
    assert await receipt(phone_job) == 204

    frame = await receive_frame(socket)
    assert frame["type"] == "board.devices"
    [alices] = frame["data"]["alerts"]
    shown = {device["label"]: device["shown_at"] is not None for device in alices["devices"]}
    assert shown == {"phone": True, "tablet": False}
    assert all(device["sent_at"] for device in alices["devices"])
    await socket.disconnect()

    socket, snapshot = await open_board(carol)
    devices = {item["alert_id"]: item["devices"] for item in snapshot["data"]["devices"]}
    assert devices[alerts["bob"].pk] == []
    assert sum(device["shown_at"] is not None for device in devices[alerts["alice"].pk]) == 1
    assert len(devices[alerts["alice"].pk]) == 2
    await socket.disconnect()
