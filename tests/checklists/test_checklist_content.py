"""The on-scene checklist (backend/checklists/data/) against the clinical figures it must carry
(RCUK adult and paediatric basic life support 2021, with the 2025 update: /work/shared/CLINICAL.md).

An edit that changes a figure, or a text that no longer says what its figure says, fails here:
then it needs a clinician's review, not just a passing test (see the file's reviewed_by).
"""

import json
import re

import jsonschema
import pytest

from backend.checklists import content
from backend.schemas import load
from tests.api.helpers import assert_matches

ONE_TAP_EVENTS = ["arrived", "cpr_started", "pads_on", "analysis", "shock", "rosc", "ambulance_arrived", "handover"]


@pytest.fixture
def checklist():
    # Read from the file itself, not the cached copy, so nothing a test changes leaks.
    return json.loads(content.CURRENT_FILE.read_text(encoding="utf-8"))


def variants(checklist):
    return checklist["variants"]


def step(variant, step_id):
    return next(item for item in variant["steps"] if item["id"] == step_id)


def test_it_has_the_documented_shape(checklist):
    assert_matches("checklist", checklist)


def test_its_shape_check_would_catch_a_missing_figure(checklist):
    del checklist["variants"]["child"]["compressions"]["ratio"]
    with pytest.raises(jsonschema.ValidationError):
        assert_matches("checklist", checklist)


def test_it_names_its_version_and_its_sources(checklist):
    assert re.fullmatch(r"1\.\d+", checklist["version"]), "the file is version 1 (bls-aed-v1.json)"
    guidelines = checklist["source"]["guidelines"]
    assert "Resuscitation Council UK" in guidelines and "2021" in guidelines and "2025" in guidelines
    assert "Utstein" in checklist["source"]["times"]


def test_it_says_a_clinician_must_review_every_change(checklist):
    note = checklist["reviewed_by"]["note"].lower()
    assert "clinician" in note and "review" in note and "every change" in note


def test_its_metronome_starts_at_110_and_stays_within_100_to_120_a_minute(checklist):
    assert checklist["metronome"] == {"default_per_minute": 110, "min_per_minute": 100, "max_per_minute": 120}


def test_its_cycle_is_2_minutes(checklist):
    assert checklist["cycle"]["seconds"] == 120
    assert "2 minutes" in checklist["cycle"]["prompt"]


@pytest.mark.parametrize("variant", ["adult", "child"])
def test_compressions_are_100_to_120_a_minute_for_everyone(checklist, variant):
    compressions = variants(checklist)[variant]["compressions"]
    assert compressions["rate_per_minute"] == {"min": 100, "max": 120}
    assert "100 to 120 a minute" in step(variants(checklist)[variant], "compressions")["instruction"]


def test_adults_get_30_compressions_to_2_breaths_and_no_initial_breaths(checklist):
    adult = variants(checklist)["adult"]
    assert adult["compressions"]["ratio"] == {"compressions": 30, "breaths": 2}
    assert adult["compressions"]["initial_breaths"] == 0
    assert step(adult, "breaths")["title"].startswith("30 compressions, then 2 rescue breaths")
    assert "continuous compressions" in step(adult, "breaths")["instruction"]
    assert not any(item["id"] == "initial_breaths" for item in adult["steps"])


def test_children_get_5_initial_breaths_then_15_compressions_to_2_breaths(checklist):
    child = variants(checklist)["child"]
    assert child["compressions"]["ratio"] == {"compressions": 15, "breaths": 2}
    assert child["compressions"]["initial_breaths"] == 5
    assert step(child, "breaths")["title"].startswith("15 compressions, then 2 rescue breaths")
    ids = [item["id"] for item in child["steps"]]
    assert "5 initial rescue breaths" in step(child, "initial_breaths")["title"]
    assert ids.index("initial_breaths") < ids.index("compressions"), "the breaths come before compressions"


def test_adult_depth_is_5_to_6_cm(checklist):
    adult = variants(checklist)["adult"]
    assert adult["compressions"]["depth"]["min_cm"] == 5
    assert adult["compressions"]["depth"]["max_cm"] == 6
    assert "at least 5 cm and no more than 6 cm" in step(adult, "compressions")["instruction"]


def test_child_depth_is_a_third_of_the_chest_about_4_cm_infant_5_cm_child(checklist):
    child = variants(checklist)["child"]
    depth = child["compressions"]["depth"]
    assert (depth["min_chest_fraction"], depth["infant_cm"], depth["child_cm"]) == ("1/3", 4, 5)
    instruction = step(child, "compressions")["instruction"]
    assert "one third of the depth of the chest" in instruction
    assert "about 4 cm for an infant" in instruction and "about 5 cm for a child" in instruction


def test_child_means_1_year_old_to_puberty_with_paediatric_pads(checklist):
    child = variants(checklist)["child"]
    assert "1 year old to puberty" in child["applies_to"]
    assert "paediatric pads or attenuation" in step(child, "defibrillator")["instruction"]


def test_it_has_the_one_tap_events(checklist):
    assert [event["id"] for event in checklist["events"]] == ONE_TAP_EVENTS
    repeatable = {event["id"] for event in checklist["events"] if event["repeatable"]}
    assert repeatable == {"analysis", "shock", "rosc"}


def test_the_event_schema_allows_exactly_the_checklist_events(checklist):
    assert load("onscene_event")["properties"]["type"]["enum"] == [event["id"] for event in checklist["events"]]


def test_every_event_carries_only_defined_data_and_the_schema_agrees(checklist):
    defined = set(checklist["data_fields"])
    for event in checklist["events"]:
        assert set(event["data"]) <= defined, event
    assert set(load("onscene_event_data")["properties"]) == defined


@pytest.mark.parametrize("variant", ["adult", "child"])
def test_each_variant_taps_every_event_once_with_unique_steps(checklist, variant):
    steps = variants(checklist)[variant]["steps"]
    assert len({item["id"] for item in steps}) == len(steps)
    tapped = [item["event"] for item in steps if item["event"] is not None]
    assert sorted(tapped) == sorted(ONE_TAP_EVENTS)


def test_the_api_serves_the_file_as_it_is(checklist):
    assert content.current() == checklist
    assert content.event_ids() == ONE_TAP_EVENTS
