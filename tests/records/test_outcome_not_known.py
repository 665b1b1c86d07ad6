"""The outcome at handover (ROSC at any time, ROSC at handover, CPR ongoing at handover,
resuscitation stopped) may be not known: a question the crew leaves unanswered is stored, shown
and sent as null, never as No (the tester's fault: a form with only "ROSC at any time" answered
was stored, shown and exported with No for the other three)."""

import uuid

import jsonschema
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from backend.records import payloads
from backend.records.models import Outcome
from tests.conftest import admin_client_for, client_for
from tests.records.conftest import body, submit, valid_outcome
from tests.records.test_records_admin import _initial_post_data

HANDOVER = ("rosc_any_time", "rosc_at_handover", "ongoing_cpr_at_handover", "resuscitation_stopped")


def only_rosc_at_any_time() -> dict:
    """The tester's form: of the outcome at handover, only "ROSC at any time" answered (yes)."""
    fields = valid_outcome()
    for name in HANDOVER:
        fields.pop(name, None)
    return {**fields, "rosc_any_time": True}


def url(alert) -> str:
    return f"/api/v1/alerts/{alert.pk}/outcome/"


def test_an_unanswered_question_is_stored_as_not_known_not_no(erin_alert):
    outcome, _ = submit(erin_alert, "outcome", **only_rosc_at_any_time())
    stored = Outcome.objects.get(pk=outcome.pk)
    assert [getattr(stored, name) for name in HANDOVER] == [True, None, None, None]


def test_null_is_not_known_and_false_is_still_no(erin_alert):
    outcome, _ = submit(
        erin_alert,
        "outcome",
        **{**only_rosc_at_any_time(), "rosc_at_handover": False, "ongoing_cpr_at_handover": None},
    )
    assert (outcome.rosc_at_handover, outcome.ongoing_cpr_at_handover, outcome.resuscitation_stopped) == (
        False,
        None,
        None,
    )


def test_the_api_gives_not_known_as_null_and_takes_null_to_clear_an_answer(erin_alert, erin):
    client = client_for(erin.user)
    response = client.post(url(erin_alert), body(**only_rosc_at_any_time()), format="json")
    assert response.status_code == 201, response.content
    record = response.json()["record"]
    jsonschema.validate(response.json(), payloads.record_response_schema("outcome"))
    assert [record[name] for name in HANDOVER] == [True, None, None, None]

    changed = client.patch(url(erin_alert), body(rosc_at_handover=False, reason="Asked the paramedic"), format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["record"]["rosc_at_handover"] is False
    cleared = client.patch(url(erin_alert), body(rosc_at_handover=None, reason="Not sure after all"), format="json")
    assert cleared.status_code == 200, cleared.content
    assert cleared.json()["record"]["rosc_at_handover"] is None
    assert Outcome.objects.get().rosc_at_handover is None


def test_a_question_that_cannot_be_not_known_still_refuses_null(erin_alert, erin):
    # (Compressions could not be not known until migration 0009: test_crew_actions_not_known.py.)
    response = client_for(erin.user).post(
        url(erin_alert), body(**valid_outcome(resuscitation_attempted=None)), format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "resuscitation_attempted": ["Say whether resuscitation was attempted."]
    }


def test_the_schema_says_null_is_not_known_for_these_four():
    document = APIClient().get("/api/schema/?format=json").json()
    operation = document["paths"]["/api/v1/alerts/{alert_id}/outcome/"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    properties = schema["properties"]
    for name in HANDOVER:
        assert properties[name]["type"] == ["boolean", "null"], name
        assert "not known" in properties[name]["description"]
    assert properties["resuscitation_attempted"]["type"] == "boolean"
    record = payloads.record_schema("outcome")["properties"]
    assert [record[name]["type"] for name in HANDOVER] == [["boolean", "null"]] * 4


def test_the_admin_shows_not_known_and_a_coordinator_can_amend_to_it(erin_alert, carol):
    outcome, _ = submit(erin_alert, "outcome", **only_rosc_at_any_time())
    client = admin_client_for(carol)
    page = client.get(reverse("admin:records_outcome_change", args=[outcome.pk])).content.decode()
    # Django's admin shows a null yes/no as its "unknown" icon, not the red "no".
    assert page.count("icon-unknown.svg") >= 3
    amend = reverse("admin:records_outcome_amend", args=[outcome.pk])
    form = client.get(amend).context["form"]
    data = {**_initial_post_data(form), "idempotency_key": str(uuid.uuid4()), "reason": "The crew were not sure"}
    data["rosc_any_time"] = "unknown"  # the select's third choice
    del data["rosc_at"]  # a ROSC time would say there was ROSC
    response = client.post(amend, data)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    stored = Outcome.objects.get()
    assert (stored.rosc_any_time, stored.rosc_at, stored.rosc_at_handover, stored.version) == (None, None, None, 2)


@pytest.mark.parametrize("name", HANDOVER)
def test_each_is_not_known_until_answered(erin_alert, name):
    fields = {**valid_outcome(rosc_at=None), **dict.fromkeys(HANDOVER, False)}
    del fields[name]
    outcome, _ = submit(erin_alert, "outcome", **fields)
    assert getattr(outcome, name) is None
