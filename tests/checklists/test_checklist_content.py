"""The on-scene checklist (backend/checklists/data/) against the clinical figures it must carry
(RCUK adult and paediatric basic life support 2021, with the 2025 update, as the product's clinical
reference gives them: /work/shared/CLINICAL.md, copied into docs/clinical-content.md).

An edit that changes a figure, or a text that no longer says what its figure says, fails here:
then it needs a new version and a clinician's review (backend.checklists.signoff), not just a
passing test.
"""

import copy
import json
import re

import jsonschema
import pytest

from backend.checklists import content, signoff
from backend.schemas import load
from tests.api.helpers import assert_matches

ONE_TAP_EVENTS = ["arrived", "cpr_started", "pads_on", "analysis", "shock", "rosc", "ambulance_arrived", "handover"]
VARIANTS = ["adult", "child", "infant"]
PAEDIATRIC = ["child", "infant"]
DRAFT_SIGN_OFF = {"status": "draft", "approved": False, "reviewer": None, "reviewed_on": None}


@pytest.fixture
def checklist():
    # Read from the file itself, not the cached copy, so nothing a test changes leaks.
    return json.loads(content.CURRENT_FILE.read_text(encoding="utf-8"))


def variant(checklist, name):
    return checklist["variants"][name]


def step(checklist, name, step_id):
    return next(item for item in variant(checklist, name)["steps"] if item["id"] == step_id)


def step_ids(checklist, name):
    return [item["id"] for item in variant(checklist, name)["steps"]]


def all_text(checklist, name):
    return " ".join(f"{item['title']}. {item['instruction']}" for item in variant(checklist, name)["steps"])


# --- Shape, version, sources, review -------------------------------------------------------------------


def test_it_has_the_documented_shape_once_served_with_its_sign_off(checklist):
    assert_matches("checklist", {**checklist, "sign_off": DRAFT_SIGN_OFF})


def test_its_shape_check_would_catch_a_missing_figure(checklist):
    del checklist["variants"]["infant"]["compressions"]["ratio"]
    with pytest.raises(jsonschema.ValidationError):
        assert_matches("checklist", {**checklist, "sign_off": DRAFT_SIGN_OFF})


def test_its_shape_check_would_catch_a_served_checklist_without_its_sign_off(checklist):
    with pytest.raises(jsonschema.ValidationError):
        assert_matches("checklist", checklist)


def test_it_names_its_version_and_its_sources(checklist):
    assert re.fullmatch(r"2\.\d+", checklist["version"]), "the file is version 2 (bls-aed-v2.json)"
    guidelines = checklist["source"]["guidelines"]
    assert "Resuscitation Council UK" in guidelines and "2021" in guidelines and "2025" in guidelines
    assert "Utstein" in checklist["source"]["times"]


def test_it_says_a_clinician_must_review_every_change(checklist):
    note = checklist["clinical_review"]["note"].lower()
    assert "clinician" in note and "review" in note and "every change" in note and "approved" in note


def test_every_item_for_clinical_review_points_at_content_that_exists(checklist):
    items = checklist["clinical_review"]["items"]
    assert len({item["id"] for item in items}) == len(items)
    for item in items:
        for where in item["where"].split("; "):
            assert where.startswith(("variants.", "notices.")), where
            node = checklist
            for part in where.split("."):  # a list of steps is entered by a step's id
                node = next(s for s in node if s["id"] == part) if isinstance(node, list) else node[part]
            assert node, where


def test_the_infant_technique_is_left_for_the_clinician_not_guessed(checklist):
    technique = variant(checklist, "infant")["compressions"]["technique"]
    assert technique["value"] is None
    assert set(technique["options"]) == {"two_thumb_encircling", "two_fingers"}
    assert technique["awaiting_clinical_review"] in {item["id"] for item in checklist["clinical_review"]["items"]}
    instruction = step(checklist, "infant", "compressions")["instruction"]
    assert content.PLACEHOLDER_MARKER in instruction
    assert "two-thumb encircling or two fingers" in instruction


def test_the_other_variants_name_no_infant_technique(checklist):
    for name in ["adult", "child"]:
        assert "technique" not in variant(checklist, name)["compressions"]


# --- What the crew on scene is told when the call ends ---------------------------------------------------
# Clinical guidance, so signed content like the steps, never words in a screen (pwa/app reads it:
# tests/js/on-scene-notice.test.mjs). Today's behaviour: a cancel and a stand-down, not a close.

STEP_8 = (
    "Continue until the ambulance crew takes over, the patient shows signs of life (ROSC: waking, moving, "
    "opening eyes, breathing normally), or the rescuers are exhausted."
)


def test_the_call_ended_on_scene_notice_rests_on_adult_step_8_for_a_cancel_and_a_stand_down(checklist):
    notice = checklist["notices"]["call_ended_on_scene"]
    assert notice["text"] == "If you are still doing CPR, carry on: the crew on scene decides."
    assert notice["applies_to"] == ["cancelled", "stood_down"], "a close is the clinician's question, not yet"
    assert STEP_8 in notice["reference"] and "step 8" in notice["reference"]
    assert "not needed" not in notice["text"].lower()
    assert content.placeholders({"notices": checklist["notices"]}) == []


def test_the_clinician_is_asked_to_confirm_the_notice_and_whether_a_close_takes_it_and_stops_the_metronome(
    checklist,
):
    [item] = [i for i in checklist["clinical_review"]["items"] if i["where"] == "notices.call_ended_on_scene"]
    question = item["question"]
    assert "Confirm the wording" in question
    assert "close" in question and "'closed'" in question and "applies_to" in question
    assert "metronome" in question and "A question only" in question


def test_its_shape_check_requires_the_notice_with_its_text_reference_and_endings(checklist):
    served = {**checklist, "sign_off": DRAFT_SIGN_OFF}
    broken = []
    without_notices = copy.deepcopy(served)
    del without_notices["notices"]
    broken.append(without_notices)
    without_the_notice = copy.deepcopy(served)
    without_the_notice["notices"] = {}
    broken.append(without_the_notice)
    for field in ("text", "reference", "applies_to", "when"):
        missing = copy.deepcopy(served)
        del missing["notices"]["call_ended_on_scene"][field]
        broken.append(missing)
    for field, value in (("text", ""), ("reference", ""), ("applies_to", []), ("applies_to", ["teleported"])):
        wrong = copy.deepcopy(served)
        wrong["notices"]["call_ended_on_scene"][field] = value
        broken.append(wrong)
    repeated = copy.deepcopy(served)
    repeated["notices"]["call_ended_on_scene"]["applies_to"] = ["cancelled", "cancelled"]
    broken.append(repeated)
    for document in broken:
        with pytest.raises(jsonschema.ValidationError):
            assert_matches("checklist", document)
    closed_too = copy.deepcopy(served)
    closed_too["notices"]["call_ended_on_scene"]["applies_to"] = ["cancelled", "stood_down", "closed"]
    assert_matches("checklist", closed_too)


def test_a_placeholder_in_the_notice_holds_up_the_approval_as_in_a_step(checklist):
    checklist["notices"]["call_ended_on_scene"]["text"] = f"{content.PLACEHOLDER_MARKER}: wording to come."
    assert "notices.call_ended_on_scene.text" in content.placeholders(checklist)


# --- Figures common to every variant -------------------------------------------------------------------


def test_its_metronome_starts_at_110_and_stays_within_100_to_120_a_minute(checklist):
    assert checklist["metronome"] == {"default_per_minute": 110, "min_per_minute": 100, "max_per_minute": 120}


def test_its_cycle_is_2_minutes(checklist):
    assert checklist["cycle"]["seconds"] == 120
    assert "2 minutes" in checklist["cycle"]["prompt"]


@pytest.mark.parametrize("name", VARIANTS)
def test_compressions_are_100_to_120_a_minute_for_everyone(checklist, name):
    assert variant(checklist, name)["compressions"]["rate_per_minute"] == {"min": 100, "max": 120}
    assert "100 to 120 a minute" in step(checklist, name, "compressions")["instruction"]


@pytest.mark.parametrize("name", VARIANTS)
def test_the_airway_is_opened_and_breathing_checked_for_no_more_than_10_seconds_first(checklist, name):
    assert variant(checklist, name)["checks"]["breathing_check_max_seconds"] == 10
    airway = step(checklist, name, "open_airway")
    assert "no more than 10 seconds" in airway["title"]
    assert (
        "open the airway" in airway["instruction"]
        and "look, listen and feel for normal breathing" in airway["instruction"]
    )
    ids = step_ids(checklist, name)
    assert ids.index("check_response") < ids.index("open_airway")
    breath_steps = [i for i in ("initial_breaths", "breaths", "compressions") if i in ids]
    assert all(ids.index("open_airway") < ids.index(i) for i in breath_steps), "airway opened before any breath"


@pytest.mark.parametrize("name", VARIANTS)
def test_agonal_gasps_are_not_normal_breathing(checklist, name):
    assert "occasional gasps" in step(checklist, name, "open_airway")["instruction"].lower()


@pytest.mark.parametrize("name", VARIANTS)
def test_compressions_restart_immediately_after_a_shock_or_no_shock_advised(checklist, name):
    text = step(checklist, name, "shock")["instruction"]
    assert "Restart compressions immediately after the shock" in text and "if no shock is advised" in text
    assert "about every 2 minutes" in all_text(checklist, name)


@pytest.mark.parametrize("name", VARIANTS)
def test_pads_follow_the_defibrillators_own_prompts_first(checklist, name):
    pads = variant(checklist, name)["pads"]
    assert pads["follow_defibrillator_prompts_first"] is True
    assert pads["text"].startswith("Follow the defibrillator's own prompts")
    defibrillator = step(checklist, name, "defibrillator")
    assert "Follow its prompts first" in defibrillator["instruction"]
    assert defibrillator["event"] == "pads_on"


@pytest.mark.parametrize("name", VARIANTS)
def test_each_variant_taps_every_event_once_with_unique_steps(checklist, name):
    steps = variant(checklist, name)["steps"]
    assert len({item["id"] for item in steps}) == len(steps)
    tapped = [item["event"] for item in steps if item["event"] is not None]
    assert sorted(tapped) == sorted(ONE_TAP_EVENTS)


# --- Adults ---------------------------------------------------------------------------------------------


def test_adults_get_30_compressions_to_2_breaths_and_no_initial_breaths(checklist):
    adult = variant(checklist, "adult")
    assert adult["compressions"]["ratio"] == {"compressions": 30, "breaths": 2}
    assert adult["compressions"]["initial_breaths"] == 0
    assert step(checklist, "adult", "breaths")["title"].startswith("30 compressions, then 2 rescue breaths")
    assert "continuous compressions" in step(checklist, "adult", "breaths")["instruction"]
    assert "head tilt, chin lift" in step(checklist, "adult", "breaths")["instruction"]
    assert "initial_breaths" not in step_ids(checklist, "adult")
    assert "signs_of_life_check" not in step_ids(checklist, "adult")


def test_adult_depth_is_5_to_6_cm(checklist):
    depth = variant(checklist, "adult")["compressions"]["depth"]
    assert (depth["min_cm"], depth["max_cm"]) == (5, 6)
    assert "at least 5 cm and no more than 6 cm" in step(checklist, "adult", "compressions")["instruction"]


def test_adult_airway_is_head_tilt_chin_lift(checklist):
    assert "open the airway (head tilt, chin lift)" in step(checklist, "adult", "open_airway")["instruction"]


def test_adult_pads_are_antero_lateral(checklist):
    pads = variant(checklist, "adult")["pads"]
    assert pads["placement"] == "antero_lateral"
    for text in (pads["text"], step(checklist, "adult", "defibrillator")["instruction"]):
        assert "one below the right collarbone" in text.lower() or "one pad below the right collarbone" in text
        assert "left side of the chest below the armpit" in text


def test_adults_are_from_puberty_and_the_unsure_get_the_adult_sequence(checklist):
    assert "from puberty" in variant(checklist, "adult")["applies_to"]
    assert "When unsure whether a young adult is a child, use" in variant(checklist, "child")["applies_to"]


# --- Children and infants -------------------------------------------------------------------------------


def test_child_means_1_year_old_to_puberty_and_infant_under_1_year(checklist):
    assert "from 1 year old to puberty" in variant(checklist, "child")["applies_to"]
    assert "under 1 year old" in variant(checklist, "infant")["applies_to"]


@pytest.mark.parametrize("name", PAEDIATRIC)
def test_children_and_infants_get_5_initial_breaths_of_about_1_second_then_15_to_2(checklist, name):
    paediatric = variant(checklist, name)
    assert paediatric["compressions"]["ratio"] == {"compressions": 15, "breaths": 2}
    assert paediatric["compressions"]["initial_breaths"] == 5
    assert paediatric["breaths"]["seconds_each"] == 1
    initial = step(checklist, name, "initial_breaths")
    assert "5 initial rescue breaths" in initial["title"]
    assert "each about 1 second, watching the chest rise" in initial["instruction"]
    assert step(checklist, name, "breaths")["title"].startswith("15 compressions, then 2 rescue breaths")
    ids = step_ids(checklist, name)
    assert ids.index("initial_breaths") < ids.index("compressions"), "the breaths come before compressions"


@pytest.mark.parametrize("name", PAEDIATRIC)
def test_signs_of_life_are_checked_for_no_more_than_10_seconds_after_the_5_breaths(checklist, name):
    assert variant(checklist, name)["checks"]["signs_of_life_check_max_seconds"] == 10
    check = step(checklist, name, "signs_of_life_check")
    assert "no more than 10 seconds" in check["title"]
    assert "Movement, coughing, normal breathing" in check["instruction"]
    assert "None, or you are unsure: start chest compressions" in check["instruction"]
    ids = step_ids(checklist, name)
    assert ids.index("initial_breaths") < ids.index("signs_of_life_check") < ids.index("compressions")


def test_child_breaths_are_mouth_to_mouth_with_head_tilt_chin_lift(checklist):
    assert variant(checklist, "child")["breaths"]["method"] == "mouth_to_mouth"
    assert "mouth to mouth," in step(checklist, "child", "initial_breaths")["instruction"]
    assert "open the airway (head tilt, chin lift)" in step(checklist, "child", "open_airway")["instruction"]


def test_infant_breaths_are_mouth_to_mouth_and_nose_with_the_head_neutral(checklist):
    assert variant(checklist, "infant")["breaths"]["method"] == "mouth_to_mouth_and_nose"
    assert "mouth to mouth-and-nose" in step(checklist, "infant", "initial_breaths")["instruction"]
    assert "mouth to mouth-and-nose" in step(checklist, "infant", "breaths")["instruction"]
    airway = step(checklist, "infant", "open_airway")["instruction"]
    assert "head in the neutral position, not tilted back" in airway
    assert "tilt," not in all_text(checklist, "infant"), "no head tilt for an infant"


@pytest.mark.parametrize(("name", "about_cm"), [("child", 5), ("infant", 4)])
def test_paediatric_depth_is_a_third_of_the_chest_about_5_cm_child_4_cm_infant_never_over_6(checklist, name, about_cm):
    depth = variant(checklist, name)["compressions"]["depth"]
    assert (depth["min_chest_fraction"], depth["about_cm"], depth["max_cm"]) == ("1/3", about_cm, 6)
    instruction = step(checklist, name, "compressions")["instruction"]
    assert f"at least one third of the depth of the chest (about {about_cm} cm, never more than 6 cm)" in instruction
    assert "Lower half of the breastbone" in instruction


def test_the_child_variant_no_longer_quotes_the_infant_depth(checklist):
    assert "4 cm" not in all_text(checklist, "child")
    assert "5 cm" not in all_text(checklist, "infant")


@pytest.mark.parametrize("name", PAEDIATRIC)
def test_paediatric_pads_under_8_otherwise_adult_front_and_back_when_touching(checklist, name):
    pads = variant(checklist, name)["pads"]
    assert pads["placement"] == "antero_posterior_if_touching"
    assert pads["paediatric_pads_under_years"] == 8
    for text in (pads["text"], step(checklist, name, "defibrillator")["instruction"]):
        assert "paediatric pads or attenuation where available (under about 8 years); otherwise adult pads" in text
        assert "If the pads would touch or overlap on a small chest, put one on the front and one on the back" in text


# --- Events and what the API serves ---------------------------------------------------------------------


def test_it_has_the_one_tap_events(checklist):
    assert [event["id"] for event in checklist["events"]] == ONE_TAP_EVENTS
    repeatable = {event["id"] for event in checklist["events"] if event["repeatable"]}
    assert repeatable == {"analysis", "shock", "rosc"}


def test_the_crew_records_which_variant_they_used(checklist):
    patient = checklist["data_fields"]["patient"]
    assert [choice["value"] for choice in patient["choices"]] == ["adult", "child", "infant"]
    assert load("onscene_event_data")["properties"]["patient"]["enum"] == ["adult", "child", "infant"]
    assert all("patient" in event["data"] for event in checklist["events"])


def test_the_event_schema_allows_exactly_the_checklist_events(checklist):
    assert load("onscene_event")["properties"]["type"]["enum"] == [event["id"] for event in checklist["events"]]


def test_every_event_carries_only_defined_data_and_the_schema_agrees(checklist):
    defined = set(checklist["data_fields"])
    for event in checklist["events"]:
        assert set(event["data"]) <= defined, event
    assert set(load("onscene_event_data")["properties"]) == defined


def test_every_content_file_has_the_same_events_so_any_version_can_be_served(checklist):
    for _, document in signoff.content_files():
        assert document["events"] == checklist["events"]


def test_the_newest_file_defines_the_events(checklist):
    assert content.current() == checklist
    assert content.event_ids() == ONE_TAP_EVENTS
    assert signoff.content_files()[-1][1] == checklist
