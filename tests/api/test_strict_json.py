"""Request bodies are read strictly (backend/strict_json.py, backend/api/fields.py): a number must be
a JSON number and a yes/no a JSON boolean; duplicate keys, NaN and Infinity, endless numbers and
deep nesting are refused. Each is a 400 `invalid` naming the field at fault (dotted, as
`keys.p256dh`), and nothing is created or changed."""

import json
import uuid

import pytest

from backend import strict_json as parsers
from backend.accounts.models import Responder
from backend.checklists.models import OnSceneEvent
from backend.delivery.models import PushDevice
from backend.dispatch.actions import dispatch_incident, respond_to_alert
from backend.dispatch.models import Alert, AlertState, Incident
from backend.records.models import Attendance
from tests.api.helpers import assert_error
from tests.conftest import browser_subscription, client_for, token_client_for

FIVE_THOUSAND_DIGITS = "9" * 5000


def incident_body(**raw: str) -> str:
    """The CAD's body creating and dispatching an incident, each field given as raw JSON text (so
    that a test can put in what json.dumps would not write)."""
    fields = {
        "cad_reference": '"EEAST-STRICT-1"',
        "latitude": "52.63",
        "longitude": "1.295",
        "address": '"3 Elm Hill, Norwich"',
        "dispatch": "true",
        **raw,
    }
    return "{" + ", ".join(f'"{name}": {value}' for name, value in fields.items()) + "}"


def post_raw(client, url: str, text: str, method: str = "POST"):
    return client.generic(method, url, text, content_type="application/json")


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- Creating an incident: the CAD's one call ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (incident_body(latitude="true"), "latitude"),
        (incident_body(longitude="false"), "longitude"),
        (incident_body(latitude='"52.6"'), "latitude"),
        (incident_body()[:-1] + ', "cad_reference": "EEAST-STRICT-2"}', "cad_reference"),
        (incident_body()[:-1] + ', "latitude": -10}', "latitude"),
        (incident_body(latitude="NaN"), "latitude"),
        (incident_body(longitude="Infinity"), "longitude"),
        (incident_body(latitude="-Infinity"), "latitude"),
        (incident_body(latitude=FIVE_THOUSAND_DIGITS), "latitude"),
        (incident_body(latitude="1e999"), "latitude"),
        (incident_body(notes=nested(1000)), "notes"),
        (incident_body(dispatch='"true"'), "dispatch"),
        (incident_body(dispatch="1"), "dispatch"),
    ],
    ids=[
        "latitude-true",
        "longitude-false",
        "latitude-string",
        "cad-reference-duplicated",
        "latitude-duplicated",
        "nan",
        "infinity",
        "minus-infinity",
        "5000-digit-integer",
        "too-large-for-a-float",
        "nested-1000-deep",
        "dispatch-string",
        "dispatch-number",
    ],
)
def test_a_bad_value_is_a_400_naming_its_field_and_creates_nothing(cad, alice, text, field):
    response = post_raw(token_client_for(cad), "/api/v1/incidents/", text)

    error = assert_error(response, 400, "invalid", field=field)
    assert list(error["fields"]) == [field], error
    assert not Incident.objects.exists() and not Alert.objects.exists()


def test_the_same_body_with_good_values_creates_and_dispatches(cad, alice):
    """The bodies above differ from this one only where they are wrong."""
    response = post_raw(token_client_for(cad), "/api/v1/incidents/", incident_body(notes='"Side door"'))

    assert response.status_code == 201, response.content
    incident = Incident.objects.get()
    assert (incident.latitude, incident.longitude) == (52.63, 1.295)
    assert [alert.responder for alert in incident.alerts.all()] == [alice]


def test_a_whole_number_is_a_good_latitude(cad):
    response = post_raw(token_client_for(cad), "/api/v1/incidents/", incident_body(latitude="52", dispatch="false"))

    assert response.status_code == 201, response.content
    assert Incident.objects.get().latitude == 52.0


def test_a_body_nested_too_deeply_that_is_not_an_object_is_refused_as_a_whole(cad):
    response = post_raw(token_client_for(cad), "/api/v1/incidents/", nested(1000))

    assert_error(response, 400, "invalid", field="non_field_errors")


def test_a_body_that_is_not_json_is_still_a_parse_error(cad):
    assert_error(post_raw(token_client_for(cad), "/api/v1/incidents/", '{"latitude": '), 400, "parse_error")


# --- Dispatching and standing down: ids ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"station_ids": [true]}', "station_ids.0"),
        ('{"station_ids": ["1"]}', "station_ids.0"),
        ('{"responder_ids": [1.0]}', "responder_ids.0"),
        ('{"station_ids": [1, NaN]}', "station_ids.1"),
        ('{"station_ids": [1], "station_ids": [2]}', "station_ids"),
    ],
)
def test_ids_must_be_json_integers(incident, carol, alice, text, field):
    response = post_raw(client_for(carol), f"/api/v1/incidents/{incident.pk}/dispatch/", text)

    assert_error(response, 400, "invalid", field=field)
    assert not Alert.objects.exists()


@pytest.mark.parametrize("alert_id", ['"{pk}"', "true", "{pk}.0"])
def test_alert_ids_to_stand_down_must_be_json_integers(incident, carol, alice, alert_id):
    alert = dispatch_incident(actor=carol, incident_id=incident.pk)[0]

    text = json.dumps({"alert_ids": ["X"]}).replace('"X"', alert_id.format(pk=alert.pk))
    response = post_raw(client_for(carol), f"/api/v1/incidents/{incident.pk}/stand-down/", text)

    assert_error(response, 400, "invalid", field="alert_ids.0")
    assert Alert.objects.get().state == AlertState.ALERTED


# --- On call: a JSON boolean, in the body; the query string keeps its text ---------------------------


@pytest.mark.parametrize("value", ['"false"', "0", '"no"', "null"])
def test_on_call_must_be_a_json_boolean(alice, value):
    response = post_raw(client_for(alice.user), "/api/v1/me/", f'{{"on_call": {value}}}', method="PATCH")

    assert_error(response, 400, "invalid", field="on_call")
    assert Responder.objects.get(pk=alice.pk).on_call is True


@pytest.mark.parametrize("value", ["true", "1", "True"])
def test_a_boolean_in_the_query_string_still_works(incident, carol, alice, value):
    dispatch_incident(actor=carol, incident_id=incident.pk)

    response = client_for(alice.user).get(f"/api/v1/alerts/?active={value}")

    assert response.status_code == 200, response.content
    assert response.json()["count"] == 1


# --- Push subscriptions: nested keys ----------------------------------------------------------------------


def test_a_duplicate_nested_key_is_named_by_its_path(alice):
    subscription = browser_subscription("https://fcm.googleapis.com/fcm/send/device-1")
    keys = subscription["keys"]
    text = (
        f'{{"endpoint": "{subscription["endpoint"]}", '
        f'"keys": {{"p256dh": "{keys["p256dh"]}", "auth": "{keys["auth"]}", "p256dh": "attacker"}}}}'
    )

    response = post_raw(client_for(alice.user), "/api/v1/push-subscriptions/", text)

    error = assert_error(response, 400, "invalid", field="keys.p256dh")
    assert "more than once" in error["fields"]["keys.p256dh"][0]
    assert not PushDevice.objects.exists()


@pytest.mark.parametrize("value", ["true", '"1700000000000"', "1700000000000.5"])
def test_expiration_time_must_be_a_json_integer_or_null(alice, value):
    subscription = browser_subscription("https://fcm.googleapis.com/fcm/send/device-1")
    text = json.dumps({**subscription, "expirationTime": "X"}).replace('"X"', value)

    response = post_raw(client_for(alice.user), "/api/v1/push-subscriptions/", text)

    assert_error(response, 400, "invalid", field="expirationTime")
    assert not PushDevice.objects.exists()


# --- On scene and after the call ------------------------------------------------------------------------


@pytest.fixture
def accepted_alert(incident, carol, alice):
    alert = next(alert for alert in dispatch_incident(actor=carol, incident_id=incident.pk) if alert.responder == alice)
    return respond_to_alert(actor=alice.user, alert_id=alert.pk, response="accept")


def test_an_idempotency_key_must_be_text_not_a_number(accepted_alert, alice):
    """DRF reads an integer as a UUID's 128 bits: 5 was the key 00000000-...-000000000005."""
    body = {"idempotency_key": 5, "type": "arrived", "occurred_at": "2025-03-01T14:07:12Z"}

    response = client_for(alice.user).post(f"/api/v1/alerts/{accepted_alert.pk}/events/", body, format="json")

    assert_error(response, 400, "invalid", field="idempotency_key")
    assert not OnSceneEvent.objects.exists()


def test_a_form_with_a_duplicate_field_is_refused(accepted_alert, alice):
    text = f'{{"idempotency_key": "{uuid.uuid4()}", "attended": true, "attended": false}}'

    response = post_raw(client_for(alice.user), f"/api/v1/alerts/{accepted_alert.pk}/attendance/", text)

    assert_error(response, 400, "invalid", field="attended")
    assert not Attendance.objects.exists()


@pytest.mark.parametrize(
    ("kind", "fields", "field"),
    [
        ("attendance", {"attended": 1}, "attended"),
        ("attendance", {"attended": "true"}, "attended"),
        ("welfare", {"impact": True}, "impact"),
        ("welfare", {"impact": 3.0}, "impact"),
        ("welfare", {"impact": "3"}, "impact"),
    ],
)
def test_the_forms_take_no_boolean_for_a_number_nor_a_number_for_a_boolean(accepted_alert, alice, kind, fields, field):
    """Python counts True as the int 1: backend/records/validation.py refuses it by name."""
    body = {"idempotency_key": str(uuid.uuid4()), **fields}

    response = client_for(alice.user).post(f"/api/v1/alerts/{accepted_alert.pk}/{kind}/", body, format="json")

    assert list(assert_error(response, 400, "invalid", field=field)["fields"]) == [field]


# --- The parser itself ------------------------------------------------------------------------------------


def test_brackets_inside_strings_are_not_nesting():
    text = json.dumps({"notes": "[" * 1000 + "{" * 1000, "x": [[["ok"]]]})

    assert parsers.loads(text)["x"] == [[["ok"]]]


def test_it_takes_nesting_up_to_its_limit_and_not_one_level_more():
    deepest = '{"data": ' + nested(parsers.MAX_DEPTH - 1) + "}"
    assert parsers.loads(deepest)["data"]

    with pytest.raises(parsers.RefusedJSON) as refused:
        parsers.loads('{"data": ' + nested(parsers.MAX_DEPTH) + "}")
    assert refused.value.fields == {"data": [parsers.TOO_DEEP]}


def test_it_names_every_problem_at_once():
    text = '{"a": {"b": [1, NaN], "b": 2}, "c": ' + "1" * 101 + ', "d": 1.' + "5" * 100 + "}"

    with pytest.raises(parsers.RefusedJSON) as refused:
        parsers.loads(text)

    assert refused.value.fields == {
        "a.b": [parsers.DUPLICATE_KEY],
        "c": [parsers.NUMBER_TOO_LONG],
        "d": [parsers.NUMBER_TOO_LONG],
    }


def test_numbers_up_to_the_length_limit_are_read_exactly():
    assert parsers.loads("[" + "9" * parsers.MAX_NUMBER_LENGTH + ", -0.5, 1e3]") == [
        int("9" * parsers.MAX_NUMBER_LENGTH),
        -0.5,
        1000.0,
    ]


def test_a_body_that_is_not_utf_8_is_a_parse_error(cad):
    response = token_client_for(cad).generic(
        "POST", "/api/v1/incidents/", b'{"address": "\xff"}', content_type="application/json"
    )

    assert_error(response, 400, "parse_error")
