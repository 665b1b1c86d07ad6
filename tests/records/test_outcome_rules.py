"""The outcome form: one per incident per crew, by the crew lead, with the Utstein rules between
fields, each broken rule with its message on the field at fault."""

import uuid

import pytest

from backend.checklists.actions import record_onscene_event
from backend.dispatch.actions import close_incident, respond_to_alert
from backend.dispatch.coverage import coverage_of
from backend.dispatch.payloads import crew_of
from backend.errors import InvalidInput, NotAllowed
from backend.records import actions
from backend.records.models import Outcome
from tests.records.conftest import ago, iso, submit, valid_outcome


def submit_outcome(alert, **overrides):
    return submit(alert, "outcome", **valid_outcome(**overrides))


def refused_fields(alert, **overrides) -> dict:
    with pytest.raises(InvalidInput) as refused:
        submit_outcome(alert, **overrides)
    assert not Outcome.objects.exists()
    return refused.value.fields


def test_the_crew_lead_submits_the_crews_outcome(erin_alert, alice_alert, erin, alice, stations):
    _, created = submit_outcome(erin_alert, appliance="21P1", crew=[erin.pk, alice.pk])
    assert created
    stored = Outcome.objects.get()
    assert (stored.incident, stored.station) == (erin_alert.incident, stations["norwich"])
    assert set(stored.crew.all()) == {erin, alice}
    assert (stored.crew_shocks, stored.first_rhythm, stored.rosc_at_handover) == (1, "shock_advised", True)


def test_a_firefighter_who_is_not_the_crew_lead_cannot_submit_it(alice_alert):
    with pytest.raises(NotAllowed) as refused:
        submit_outcome(alice_alert)
    assert refused.value.message == "Nobody of your crew is recorded as attending, so your crew owes no outcome form."


def test_every_crew_member_who_accepted_can_read_it_but_only_the_lead_may_edit(erin_alert, alice_alert, alice, erin):
    submit_outcome(erin_alert)
    as_member = actions.open_form(actor=alice.user, kind="outcome", alert_id=alice_alert.pk)
    as_lead = actions.open_form(actor=erin.user, kind="outcome", alert_id=erin_alert.pk)
    assert as_member.record == as_lead.record == Outcome.objects.get()
    assert (as_member.editable, as_lead.editable) == (False, True)


def test_resuscitation_attempted_is_required(erin_alert):
    fields = valid_outcome()
    del fields["resuscitation_attempted"]
    with pytest.raises(InvalidInput) as refused:
        submit(erin_alert, "outcome", **fields)
    assert refused.value.fields == {"resuscitation_attempted": ["Say whether resuscitation was attempted."]}


NOT_ATTEMPTED = {
    "resuscitation_attempted": False,
    "compressions": False,
    "defibrillator_applied": False,
    "first_rhythm": "",
    "crew_shocks": 0,
    "first_shock_at": None,
    "cpr_started_at": None,
    "pads_on_at": None,
    "rosc_at": None,
    "rosc_any_time": False,
    "rosc_at_handover": False,
}


def test_resuscitation_not_attempted_needs_a_reason(erin_alert):
    assert refused_fields(erin_alert, **NOT_ATTEMPTED) == {
        "not_attempted_reason": [
            "Say why resuscitation was not attempted: one of dnacpr, obviously_dead, signs_of_life."
        ]
    }
    outcome, _ = submit_outcome(erin_alert, **NOT_ATTEMPTED, not_attempted_reason="dnacpr")
    assert outcome.not_attempted_reason == "dnacpr"


def test_resuscitation_not_attempted_excludes_crew_shocks_and_compressions(erin_alert):
    fields = refused_fields(
        erin_alert, **{**NOT_ATTEMPTED, "crew_shocks": 2, "compressions": True, "not_attempted_reason": "dnacpr"}
    )
    assert fields == {
        "crew_shocks": ["Resuscitation was not attempted, so the crew cannot have given shocks."],
        "compressions": ["Resuscitation was not attempted, so the crew cannot have given compressions."],
    }


def test_a_reason_for_not_attempting_only_when_not_attempted(erin_alert):
    assert refused_fields(erin_alert, not_attempted_reason="obviously_dead") == {
        "not_attempted_reason": ["Leave this empty: resuscitation was attempted."]
    }


@pytest.mark.parametrize("first_rhythm", ["no_shock_advised", "unknown", ""])
def test_crew_shocks_are_accepted_whatever_the_first_rhythm(erin_alert, first_rhythm):
    """A first rhythm classed "no shock advised" can become shockable later and be shocked, and the
    first rhythm may not be known: the two are separate Utstein items (docs/hazard-log.md, H23
    control 9). Found by the ninth trial: a shock tapped without its analysis left the first
    rhythm empty, and the form refused its own prefill."""
    outcome, created = submit_outcome(erin_alert, first_rhythm=first_rhythm, crew_shocks=2)
    assert created and (outcome.first_rhythm, outcome.crew_shocks) == (first_rhythm, 2)


def test_crew_shocks_need_the_defibrillator_applied(erin_alert):
    assert refused_fields(erin_alert, defibrillator_applied=False) == {
        "crew_shocks": ["Shocks need the crew's defibrillator applied: answer Yes, or set shocks to 0."]
    }


def test_a_first_shock_time_needs_a_shock(erin_alert):
    assert refused_fields(erin_alert, crew_shocks=0) == {
        "first_shock_at": ["A first shock time needs at least one shock by the crew."]
    }


def test_rosc_at_handover_implies_rosc_at_some_time(erin_alert):
    assert refused_fields(erin_alert, rosc_any_time=False, rosc_at=None) == {
        "rosc_any_time": ["ROSC at handover means there was ROSC: tick 'ROSC at any time'."]
    }


def test_a_rosc_time_implies_rosc_at_some_time(erin_alert):
    assert refused_fields(erin_alert, rosc_any_time=False, rosc_at_handover=False) == {
        "rosc_any_time": ["A ROSC time means there was ROSC: tick 'ROSC at any time'."]
    }


def test_rosc_at_handover_and_cpr_ongoing_at_handover_cannot_both_be_yes(erin_alert):
    assert refused_fields(erin_alert, ongoing_cpr_at_handover=True) == {
        "ongoing_cpr_at_handover": [
            "'CPR ongoing at handover' cannot be yes when 'ROSC at handover' is yes: answer no to one of them."
        ]
    }


@pytest.mark.parametrize(
    "answers",
    [
        {"rosc_at_handover": False, "ongoing_cpr_at_handover": True},
        {"rosc_at_handover": None, "ongoing_cpr_at_handover": True},  # not known is not a contradiction
        {"rosc_at_handover": True, "ongoing_cpr_at_handover": None},
    ],
)
def test_cpr_ongoing_at_handover_is_taken_without_rosc_at_handover(erin_alert, answers):
    outcome, _ = submit_outcome(erin_alert, **answers)
    assert (outcome.rosc_at_handover, outcome.ongoing_cpr_at_handover) == (
        answers["rosc_at_handover"],
        answers["ongoing_cpr_at_handover"],
    )


def test_the_handover_rule_applies_to_a_change_too(erin_alert):
    submit_outcome(erin_alert)
    with pytest.raises(InvalidInput) as refused:
        actions.change_record(
            actor=erin_alert.responder.user,
            kind="outcome",
            alert_id=erin_alert.pk,
            idempotency_key=uuid.uuid4(),
            reason="Forgot CPR",
            fields={"ongoing_cpr_at_handover": True},
        )
    assert list(refused.value.fields) == ["ongoing_cpr_at_handover"]
    assert Outcome.objects.get().ongoing_cpr_at_handover is None


@pytest.mark.parametrize(
    ("overrides", "field", "start"),
    [
        ({"cpr_started_at": iso(ago(minutes=21))}, "cpr_started_at", "CPR started ("),
        # Pads on before the crew arrived (before the crew's CPR is allowed: a bystander is doing it).
        ({"pads_on_at": iso(ago(minutes=20, seconds=30))}, "pads_on_at", "Pads on ("),
        ({"first_shock_at": iso(ago(minutes=18, seconds=30))}, "first_shock_at", "First shock ("),
        ({"rosc_at": iso(ago(minutes=20, seconds=30))}, "rosc_at", "ROSC ("),
        # Handover before the crew arrived, before the ambulance arrived, before ROSC.
        ({"handover_at": iso(ago(minutes=25))}, "handover_at", "Handover ("),
        ({"handover_at": iso(ago(minutes=11))}, "handover_at", "Handover ("),
        ({"handover_at": iso(ago(minutes=13)), "ambulance_arrived_at": None}, "handover_at", "Handover ("),
    ],
)
def test_times_out_of_order_are_refused_on_the_later_time(erin_alert, overrides, field, start):
    fields = refused_fields(erin_alert, **overrides)
    assert list(fields) == [field]
    assert fields[field][0].startswith(start) and "cannot be before" in fields[field][0]


def test_handover_before_the_ambulance_arrived_names_the_arrival(erin_alert):
    fields = refused_fields(erin_alert, handover_at=iso(ago(minutes=11)))
    assert "cannot be before ambulance arrived (" in fields["handover_at"][0]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"crew_shocks": -1}, "crew_shocks", "A count cannot be below zero. Give a whole number from 0 to 50."),
        ({"crew_shocks": 51}, "crew_shocks", "Give a whole number from 0 to 50."),
        ({"crew_shocks": 1.5}, "crew_shocks", "Give a whole number from 0 to 50."),
        ({"public_defibrillator_shocks": -2}, "public_defibrillator_shocks", "A count cannot be below zero."),
        ({"age_band": "40"}, "age_band", "Use one of: under_1, 1_17, 18_34, 35_54, 55_74, 75_plus, unknown."),
        ({"sex": "x"}, "sex", "Use one of: female, male, unknown."),
        ({"witnessed": "dog"}, "witnessed", "Use one of: bystander, crew, ambulance_crew, not_witnessed."),
        ({"ventilation": "magic"}, "ventilation", "Use one of: none, mouth_to_mask, bag_valve_mask."),
        ({"first_shock_by": "robot"}, "first_shock_by", "Use one of: bystander, fire_crew, ambulance, other, nobody."),
        ({"bystander_cpr": ""}, "bystander_cpr", "Use one of: yes, no, unknown."),
        ({"notes": "x" * 1001}, "notes", "Keep this to 1000 characters (it has 1001)."),
        ({"notes": "a\x00b"}, "notes", "Text cannot contain a null character."),
        ({"crew": [1, "2"]}, "crew", "Give a list of responder ids."),
        ({"rosc_at": "9999-12-31T23:59:59-23:59"}, "rosc_at", "This time is out of range. Check the date."),
    ],
)
def test_bad_values_are_refused_with_their_message(erin_alert, overrides, field, message):
    fields = refused_fields(erin_alert, **overrides)
    assert fields[field][0].startswith(message), fields


def test_the_crew_must_be_of_the_station_and_alerted(erin_alert, erin, charlie, dave):
    fields = refused_fields(erin_alert, crew=[erin.pk, charlie.pk])
    assert fields == {"crew": [f"Not alerted to this incident from your station: responder {charlie.pk}."]}


def test_empty_and_null_choices_mean_not_given(erin_alert):
    outcome, _ = submit_outcome(erin_alert, location_type="", witnessed=None, bystander_cpr=None, sex=None)
    assert (outcome.location_type, outcome.witnessed, outcome.bystander_cpr, outcome.sex) == (
        "",
        "",
        "unknown",
        "unknown",
    )


def test_a_count_may_be_null_where_unknown(erin_alert):
    outcome, _ = submit_outcome(erin_alert, public_defibrillator_shocks=None)
    assert outcome.public_defibrillator_shocks is None


def tap(alert, type, minutes_ago, **data):
    record_onscene_event(
        actor=alert.responder.user,
        alert_id=alert.pk,
        idempotency_key=uuid.uuid4(),
        type=type,
        occurred_at=ago(minutes=minutes_ago),
        data=data,
    )


def test_the_outcome_is_prefilled_from_the_whole_crews_checklist(erin_alert, alice_alert, erin, alice, bob_alert):
    for alert in (erin_alert, alice_alert):
        respond_to_alert(actor=alert.responder.user, alert_id=alert.pk, response="on_scene")
    tap(erin_alert, "arrived", 20)
    tap(alice_alert, "cpr_started", 19)
    tap(erin_alert, "pads_on", 18)
    tap(erin_alert, "analysis", 17, advice="shock_advised")
    tap(erin_alert, "shock", 16, shock_number=1)
    tap(alice_alert, "shock", 16, shock_number=1)  # the same shock, tapped on a second phone
    tap(erin_alert, "analysis", 14, advice="no_shock_advised")
    tap(erin_alert, "shock", 12, shock_number=2)
    tap(alice_alert, "rosc", 11)
    tap(erin_alert, "ambulance_arrived", 10)
    tap(erin_alert, "handover", 5)

    form = actions.open_form(actor=erin.user, kind="outcome", alert_id=erin_alert.pk)

    prefill = form.prefill
    # Bob accepted but never got there: not ticked as having attended.
    assert prefill["crew"] == sorted([erin.pk, alice.pk])
    assert prefill["first_rhythm"] == "shock_advised"
    assert prefill["crew_shocks"] == 2
    assert (prefill["compressions"], prefill["defibrillator_applied"], prefill["resuscitation_attempted"]) == (
        True,
        True,
        True,
    )
    assert prefill["rosc_any_time"] is True
    assert set(prefill) >= {"crew_arrived_at", "cpr_started_at", "pads_on_at", "first_shock_at", "rosc_at"}
    assert set(prefill) >= {"ambulance_arrived_at", "handover_at"}
    # The prefill breaks no rule: the crew lead can confirm it as it is, with the context added.
    outcome, created = submit(erin_alert, "outcome", **prefill, location_type="home", witnessed="bystander")
    assert created and outcome.crew_shocks == 2


def test_the_crew_ticked_is_who_attended_as_the_board_and_the_app_count_it(
    erin_alert, alice_alert, bob_alert, erin, carol, incident
):
    """Found by a tester: Kate accepted, was stood down on the way when the incident was closed,
    and the outcome form still ticked her as having attended; the board said "attended 1"."""
    respond_to_alert(actor=erin.user, alert_id=erin_alert.pk, response="on_scene")
    respond_to_alert(actor=alice_alert.responder.user, alert_id=alice_alert.pk, response="en_route")
    close_incident(actor=carol, incident_id=incident.pk)  # erin cleared, alice and bob stood down
    incident.refresh_from_db()

    prefill = actions.open_form(actor=erin.user, kind="outcome", alert_id=erin_alert.pk).prefill

    assert prefill["crew"] == [erin.pk]
    # The same count as the board's and the app's.
    assert coverage_of(incident).attended == 1
    assert [member["responder_id"] for member in crew_of(incident) if member["attended"]] == prefill["crew"]


def test_someone_who_used_the_checklist_without_pressing_on_scene_is_ticked(
    erin_alert, alice_alert, bob_alert, erin, alice
):
    """Their phone's on-scene events say they were there, as the attendance form's prefill reads
    them: not ticked, and stood down by a close, the crew lead could not have ticked them at all."""
    respond_to_alert(actor=erin.user, alert_id=erin_alert.pk, response="on_scene")
    tap(alice_alert, "cpr_started", 5)

    prefill = actions.open_form(actor=erin.user, kind="outcome", alert_id=erin_alert.pk).prefill

    assert prefill["crew"] == sorted([erin.pk, alice.pk])
