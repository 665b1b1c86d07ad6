"""Compressions by the crew, the crew's defibrillator applied and whether the collapse time is an
estimate may be not known, as the outcome at handover may (test_outcome_not_known.py): a question
the crew leaves unanswered is stored, shown and sent as null, never as No (it was stored as No),
and the rules between fields take not known as neither yes nor no, except where another answer
says it must be yes."""

import uuid

import jsonschema
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from backend.errors import InvalidInput
from backend.records import payloads
from backend.records.models import Outcome
from tests.conftest import admin_client_for, client_for
from tests.records.conftest import ago, body, iso, submit, valid_outcome
from tests.records.test_records_admin import _initial_post_data

CREW_ACTIONS = ("compressions", "defibrillator_applied", "collapse_time_estimated")


def url(alert) -> str:
    return f"/api/v1/alerts/{alert.pk}/outcome/"


def unanswered(**overrides) -> dict:
    """A valid outcome with a collapse time, whose crew answered none of the three (and gave no
    shocks, which would need the defibrillator answered yes)."""
    fields = valid_outcome(crew_shocks=0, first_shock_at=None, collapse_at=iso(ago(minutes=30)))
    for name in CREW_ACTIONS:
        fields.pop(name, None)
    return {**fields, **overrides}


def test_each_unanswered_question_is_stored_as_not_known_not_no(erin_alert):
    outcome, _ = submit(erin_alert, "outcome", **unanswered())
    stored = Outcome.objects.get(pk=outcome.pk)
    assert [getattr(stored, name) for name in CREW_ACTIONS] == [None, None, None]


@pytest.mark.parametrize("answer", [None, False, True])
@pytest.mark.parametrize("name", CREW_ACTIONS)
def test_null_is_not_known_and_false_is_still_no(erin_alert, name, answer):
    outcome, _ = submit(erin_alert, "outcome", **unanswered(**{name: answer}))
    assert getattr(Outcome.objects.get(pk=outcome.pk), name) is answer


def test_the_api_gives_not_known_as_null_and_takes_null_to_clear_an_answer(erin_alert, erin):
    client = client_for(erin.user)
    response = client.post(url(erin_alert), body(**unanswered(compressions=True)), format="json")
    assert response.status_code == 201, response.content
    jsonschema.validate(response.json(), payloads.record_response_schema("outcome"))
    record = response.json()["record"]
    assert [record[name] for name in CREW_ACTIONS] == [True, None, None]
    cleared = client.patch(url(erin_alert), body(compressions=None, reason="Not sure after all"), format="json")
    assert cleared.status_code == 200, cleared.content
    assert cleared.json()["record"]["compressions"] is None
    assert Outcome.objects.get().compressions is None


def test_clearing_the_collapse_time_sends_estimated_as_not_known_and_is_accepted(erin_alert, erin):
    """The app hides "estimated" without a collapse time and, in a change, sends it as null: that
    change was refused ("Answer true or false.")."""
    client = client_for(erin.user)
    response = client.post(url(erin_alert), body(**unanswered(collapse_time_estimated=True)), format="json")
    assert response.status_code == 201, response.content
    changed = client.patch(
        url(erin_alert),
        body(collapse_at=None, collapse_time_estimated=None, reason="Nobody knew after all"),
        format="json",
    )
    assert changed.status_code == 200, changed.content
    record = changed.json()["record"]
    assert (record["collapse_at"], record["collapse_time_estimated"]) == (None, None)


def test_the_schema_says_null_is_not_known_for_these_three():
    document = APIClient().get("/api/schema/?format=json").json()
    operation = document["paths"]["/api/v1/alerts/{alert_id}/outcome/"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for name in CREW_ACTIONS:
        assert schema["properties"][name]["type"] == ["boolean", "null"], name
        assert "not known" in schema["properties"][name]["description"], name
    record = payloads.record_schema("outcome")["properties"]
    assert [record[name]["type"] for name in CREW_ACTIONS] == [["boolean", "null"]] * 3


# --- The rules between fields, with not known ------------------------------------------------------


def test_crew_shocks_with_the_defibrillator_not_known_are_refused_as_with_no(erin_alert):
    """A shock by the crew means its defibrillator was applied: not known is refused on the shocks,
    with the message No gets (as ROSC at handover needs ROSC at any time answered yes)."""
    with pytest.raises(InvalidInput) as refused:
        submit(erin_alert, "outcome", **valid_outcome(defibrillator_applied=None))
    assert refused.value.fields == {
        "crew_shocks": ["Shocks need the crew's defibrillator applied: answer Yes, or set shocks to 0."]
    }
    assert not Outcome.objects.exists()


def test_no_shocks_with_the_defibrillator_not_known_are_accepted(erin_alert):
    outcome, _ = submit(erin_alert, "outcome", **unanswered(defibrillator_applied=None, first_rhythm="unknown"))
    assert (outcome.defibrillator_applied, outcome.crew_shocks) == (None, 0)


def test_resuscitation_not_attempted_with_compressions_not_known_is_accepted(erin_alert):
    """Only a Yes contradicts "not attempted"."""
    fields = {
        **unanswered(rosc_at=None, rosc_any_time=False, rosc_at_handover=False),
        "resuscitation_attempted": False,
        "not_attempted_reason": "obviously_dead",
        "first_rhythm": "",
        "cpr_started_at": None,
        "pads_on_at": None,
        "compressions": None,
    }
    outcome, _ = submit(erin_alert, "outcome", **fields)
    assert (outcome.resuscitation_attempted, outcome.compressions) == (False, None)


def test_estimated_not_known_needs_no_collapse_time(erin_alert):
    fields = unanswered(collapse_time_estimated=None)
    fields["collapse_at"] = None
    outcome, _ = submit(erin_alert, "outcome", **fields)
    assert (outcome.collapse_at, outcome.collapse_time_estimated) == (None, None)


# --- The admin -------------------------------------------------------------------------------------


def test_the_admin_shows_not_known_and_a_coordinator_can_amend_to_it(erin_alert, carol):
    outcome, _ = submit(erin_alert, "outcome", **unanswered(compressions=True))
    client = admin_client_for(carol)
    page = client.get(reverse("admin:records_outcome_change", args=[outcome.pk])).content.decode()
    # Django's admin shows a null yes/no as its "unknown" icon: the defibrillator, the estimate and
    # the two questions at handover the valid outcome leaves unanswered.
    assert page.count("icon-unknown.svg") >= 4
    amend = reverse("admin:records_outcome_amend", args=[outcome.pk])
    form = client.get(amend).context["form"]
    data = {**_initial_post_data(form), "idempotency_key": str(uuid.uuid4()), "reason": "The crew were not sure"}
    assert (data["compressions"], data["defibrillator_applied"]) == ("true", "unknown")
    data["compressions"] = "unknown"  # the select's third choice
    response = client.post(amend, data)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    stored = Outcome.objects.get()
    assert (stored.compressions, stored.defibrillator_applied, stored.version) == (None, None, 2)
