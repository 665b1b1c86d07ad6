"""What the calls that make and change incidents refuse, found by trying the product: a field they
do not have (a CAD's misspelt "dispach": true made an incident that alerted nobody and raised no
alarm), and a place outside the area the service covers ((0, 0), Paris, latitude and longitude
swapped: an incident nobody could reach, and the board's map zoomed out to a continent). Each is a
400 naming the field, and nothing is created or changed."""

import json

import pytest

from backend.dispatch import actions
from backend.dispatch.models import Alert, Incident
from backend.errors import InvalidInput
from tests.api.helpers import assert_error
from tests.conftest import NORWICH_INCIDENT, client_for, token_client_for

pytestmark = pytest.mark.django_db

BODY = {
    "cad_reference": "EEAST-CHECK-1",
    "latitude": NORWICH_INCIDENT[0],
    "longitude": NORWICH_INCIDENT[1],
    "address": "3 Elm Hill, Norwich",
    "dispatch": True,
}


def create(client, body: dict):
    return client.post("/api/v1/incidents/", json.dumps(body), content_type="application/json")


def test_a_misspelt_field_is_refused_by_name_and_nothing_is_made(cad, alice):
    body = {**BODY}
    del body["dispatch"]
    error = assert_error(create(token_client_for(cad), {**body, "dispach": True}), 400, "invalid", field="dispach")
    assert list(error["fields"]) == ["dispach"]
    assert "dispatch" in error["fields"]["dispach"][0]  # the fields it does have, to spot the typo
    assert not Incident.objects.exists() and not Alert.objects.exists()


def test_an_unknown_field_is_named_beside_the_other_errors(cad):
    error = assert_error(create(token_client_for(cad), {**BODY, "latitude": "x", "priority": 1}), 400, "invalid")
    assert set(error["fields"]) == {"latitude", "priority"}
    assert not Incident.objects.exists()


def test_the_same_body_without_the_unknown_field_dispatches(cad, alice):
    response = create(token_client_for(cad), BODY)
    assert response.status_code == 201, response.content
    assert [alert["responder_id"] for alert in response.json()["alerts"]] == [alice.pk]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("dispatch/", {"station_id": [1]}),
        ("stand-down/", {"alert_id": [1]}),
        ("cancel/", {"reason": "Ambulance on scene", "reasons": "x"}),
        ("ambulance-eta/", {"ambulance_eta": None, "eta": "soon"}),
    ],
)
def test_the_calls_that_change_an_incident_refuse_unknown_fields(incident, carol, alice, path, body):
    field = next(name for name in body if name not in ("reason", "ambulance_eta"))
    response = client_for(carol).post(f"/api/v1/incidents/{incident.pk}/{path}", body, format="json")
    assert_error(response, 400, "invalid", field=field)
    incident.refresh_from_db()
    assert incident.status == "open" and not Alert.objects.exists()


@pytest.mark.parametrize(
    ("latitude", "longitude", "fields"),
    [
        (0.0, 0.0, {"latitude"}),  # longitude 0 is Greenwich
        (48.85, 2.35, {"latitude", "longitude"}),  # Paris
        (52.63, 12.0, {"longitude"}),
        (1.295, 52.63, {"latitude", "longitude"}),  # swapped
    ],
)
def test_a_place_outside_the_area_is_refused_by_field(cad, alice, latitude, longitude, fields):
    response = create(token_client_for(cad), {**BODY, "latitude": latitude, "longitude": longitude})
    error = assert_error(response, 400, "invalid")
    assert set(error["fields"]) == fields
    assert "outside the area this service covers" in error["fields"][sorted(fields)[0]][0]
    assert not Incident.objects.exists() and not Alert.objects.exists()


def test_swapped_coordinates_are_named_as_such(cad):
    latitude, longitude = NORWICH_INCIDENT
    error = assert_error(create(token_client_for(cad), {**BODY, "latitude": longitude, "longitude": latitude}), 400)
    assert "swapped" in error["fields"]["latitude"][0]


def test_the_area_is_the_deployments_and_holds_for_every_caller(carol, settings):
    """A trust may narrow the area; the action refuses outside it, whoever calls (board, admin)."""
    settings.INCIDENT_AREA_NORTH = 52.0  # south of Norwich
    with pytest.raises(InvalidInput) as refused:
        actions.create_incident(
            actor=carol, cad_reference="X-1", latitude=NORWICH_INCIDENT[0], longitude=NORWICH_INCIDENT[1], address="x"
        )
    assert list(refused.value.fields) == ["latitude"]
    assert not Incident.objects.exists()


def test_the_schema_says_those_bodies_have_no_other_fields(client):
    from drf_spectacular.generators import SchemaGenerator

    schemas = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    for name in ("CreateIncidentInputRequest", "DispatchInputRequest", "StandDownInputRequest", "CancelInputRequest"):
        assert schemas[name]["additionalProperties"] is False, name
    assert "additionalProperties" not in schemas["RespondInputRequest"]  # the others unchanged
    assert schemas["CreateIncidentInputRequest"]["description"].startswith("A new incident")
