"""What a dispatch of an existing incident (the board's "Dispatch", the CAD's dispatch call) builds
to answer, counted (issue 17 item 3: the 200 pushes of a large dispatch are sent by the interpreter
that builds its answer). Each test here failed before the work it counts was removed; timings live
in bench/push_fanout.py, never here."""

import datetime

import pytest
from django.conf import settings
from django.db.models.signals import post_init

from backend.accounts.models import Responder
from backend.delivery.models import Delivery
from backend.delivery.subscriptions import subscribe_device
from backend.dispatch import ladder
from backend.dispatch.actions import respond_to_alert, stand_down
from backend.dispatch.escalation import run_due_escalations
from backend.dispatch.models import Alert, DeclineReason, Incident, StandDownReason
from tests.conftest import NORWICH_INCIDENT, browser_subscription, make_firefighter, token_client_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def big_station(stations, settings):
    """Norwich with 8 on-call firefighters, each with a phone; a dispatch alerts 4 of them."""
    settings.DISPATCH_MAX_PER_STATION = 50
    settings.DISPATCH_MAX_RESPONDERS = 4
    firefighters = [make_firefighter(f"ff{number:02d}", stations["norwich"]) for number in range(8)]
    for firefighter in firefighters:
        endpoint = f"https://fcm.googleapis.com/fcm/send/{firefighter.user.username}"
        subscribe_device(
            actor=firefighter.user, endpoint=endpoint, label="phone", **browser_subscription(endpoint)["keys"]
        )
    return firefighters


class Built:
    """Instances of a model made (built new or loaded) while in the block."""

    def __init__(self, model):
        self.model, self.instances = model, []

    def _count(self, sender, instance, **kwargs):
        self.instances.append(instance)

    def __enter__(self):
        post_init.connect(self._count, sender=self.model)
        return self

    def __exit__(self, *exc):
        post_init.disconnect(self._count, sender=self.model)


def new_incident(client, reference: str) -> int:
    latitude, longitude = NORWICH_INCIDENT
    body = {"cad_reference": reference, "latitude": latitude, "longitude": longitude, "address": "3 Elm Hill"}
    response = client.post("/api/v1/incidents/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def dispatch(client, incident_id: int, body: dict | None = None) -> dict:
    response = client.post(f"/api/v1/incidents/{incident_id}/dispatch/", body or {}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def read_back(client, incident_id: int) -> dict:
    response = client.get(f"/api/v1/incidents/{incident_id}/")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_first_dispatch_answers_with_its_alerts_without_loading_them_again(cad, big_station):
    client = token_client_for(cad)
    dispatch(client, new_incident(client, "WARM-UP"))
    incident_id = new_incident(client, "EEAST-0001")
    with Built(Alert) as alerts:
        body = dispatch(client, incident_id)
    # The four alerts it made, and no copy of them read back for the answer (there were eight).
    assert len(alerts.instances) == 4
    assert body["dispatch"]["alerted_count"] == 4
    assert {key: value for key, value in body.items() if key != "dispatch"} == read_back(client, incident_id)


def test_a_widening_dispatch_reads_only_the_alerts_made_before_it(cad, big_station):
    client = token_client_for(cad)
    incident_id = new_incident(client, "EEAST-0001")
    first = dispatch(client, incident_id)
    with Built(Alert) as alerts:
        second = dispatch(client, incident_id)
    # Four made, the crew of eight read to tell the four alerted before of the newcomers, and the
    # four made before read for the answer (twenty before: all eight read back for the answer).
    assert len(alerts.instances) == 16
    assert [alert["rank"] for alert in second["alerts"]] == list(range(1, 9))
    assert second["alerts"][:4] == first["alerts"]
    assert {key: value for key, value in second.items() if key != "dispatch"} == read_back(client, incident_id)


def test_a_named_dispatch_alerting_someone_again_answers_with_every_alert_as_stored(cad, carol, big_station):
    client = token_client_for(cad)
    incident_id = new_incident(client, "EEAST-0001")
    first = dispatch(client, incident_id)
    [stood_down] = stand_down(actor=carol, incident_id=incident_id, alert_ids=[first["alerts"][1]["id"]])
    body = dispatch(client, incident_id, {"responder_ids": [stood_down.responder_id, big_station[7].pk]})
    assert body["dispatch"]["alerted_count"] == 2
    again = next(alert for alert in body["alerts"] if alert["id"] == stood_down.pk)
    assert again["state"] == "alerted" and again["rank"] == 2
    assert {key: value for key, value in body.items() if key != "dispatch"} == read_back(client, incident_id)


def test_its_pushes_are_queued_without_a_delivery_object_each(cad, big_station):
    client = token_client_for(cad)
    dispatch(client, new_incident(client, "WARM-UP"))
    incident_id = new_incident(client, "EEAST-0001")
    with Built(Delivery) as deliveries:
        body = dispatch(client, incident_id)
    assert deliveries.instances == []
    stored = Delivery.objects.filter(alert__incident_id=incident_id).select_related("alert__responder__user")
    alerted = {alert["responder_id"] for alert in body["alerts"]}
    assert sorted(delivery.alert.responder_id for delivery in stored) == sorted(alerted)
    assert {(d.channel, d.kind, d.round, d.state, d.target) for d in stored} == {
        ("webpush", "alert", 1, "pending", "fcm.googleapis.com")
    }
    assert all(delivery.device.user_id == delivery.alert.responder.user_id for delivery in stored)
    assert Responder.objects.filter(pk__in=alerted).count() == 4


def test_a_plain_dispatch_resuming_a_held_ladder_answers_with_every_alert_as_stored(cad, carol, big_station):
    """The dispatch resumes the held ladder (a coordinator stood down the one crew going) and alerts
    again those stood down because enough crews were going, ranks 2 and 4: earlier alerts, not the
    incident's newest. Rank 3, who declined and is not alerted again, sat between them, and the
    answer built from memory left it out (it read only the alerts ranked below rank 2)."""
    client = token_client_for(cad)
    incident_id = new_incident(client, "EEAST-0001")
    Incident.objects.filter(pk=incident_id).update(crew_target=1)
    first = dispatch(client, incident_id)
    by_rank = {alert["rank"]: alert for alert in first["alerts"]}
    firefighters = {firefighter.pk: firefighter for firefighter in big_station}

    def answer(rank, *responses, **extra):
        responder = firefighters[by_rank[rank]["responder_id"]]
        for response in responses:
            respond_to_alert(actor=responder.user, alert_id=by_rank[rank]["id"], response=response, **extra)

    answer(3, "decline", reason=DeclineReason.choices[0][0])
    answer(1, "accept", "on_scene")
    covered_at = Incident.objects.get(pk=incident_id).covered_at
    run_due_escalations(now=covered_at + datetime.timedelta(seconds=settings.COVERED_STAND_DOWN_GRACE_SECONDS))
    assert Alert.objects.get(pk=by_rank[2]["id"]).stood_down_reason == StandDownReason.ENOUGH_CREWS
    stand_down(actor=carol, incident_id=incident_id, alert_ids=[by_rank[1]["id"]])
    assert ladder.is_held(Incident.objects.get(pk=incident_id))

    body = dispatch(client, incident_id)

    assert body["dispatch"]["resumed_count"] == 2
    assert [alert["rank"] for alert in body["alerts"]] == list(range(1, 9))
    assert {key: value for key, value in body.items() if key != "dispatch"} == read_back(client, incident_id)
