"""The order of the recorded times: the forms accept what the app recorded (pads on before the
crew's CPR while a bystander does compressions; a time typed to the minute beside one tapped to
the second) and still refuse the orders that cannot happen, on the field at fault. The phone
checks the same pairs (pwa/app/records-rules.js) as the server."""

import datetime
import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from backend.checklists.actions import record_onscene_event
from backend.errors import InvalidInput
from backend.records import actions, validation
from backend.records.models import Outcome
from tests.records.conftest import ago, submit, valid_outcome

ROOT = Path(__file__).resolve().parents[2]
RECORDS_RULES = ROOT / "pwa" / "app" / "records-rules.js"


def tap(alert, type, at, **data):
    record_onscene_event(
        actor=alert.responder.user,
        alert_id=alert.pk,
        idempotency_key=uuid.uuid4(),
        type=type,
        occurred_at=at,
        data=data,
    )


def as_the_app_types_it(value) -> str:
    """A time typed in the form's datetime-local box as hours and minutes: the phone sends it as
    `Date.toISOString()` does, the seconds at 0."""
    return value.replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def refused_fields(alert, **overrides) -> dict:
    with pytest.raises(InvalidInput) as refused:
        submit(alert, "outcome", **valid_outcome(**overrides))
    assert not Outcome.objects.exists()
    return refused.value.fields


def tap_a_bystander_cpr_arrest(erin_alert, alice_alert):
    """The crew arrives while a bystander does compressions: pads on and a shock first, then the
    crew takes over CPR."""
    tap(erin_alert, "arrived", ago(minutes=20, seconds=13))
    tap(erin_alert, "pads_on", ago(minutes=19, seconds=41))
    tap(erin_alert, "analysis", ago(minutes=19, seconds=2), advice="shock_advised")
    tap(erin_alert, "shock", ago(minutes=18, seconds=47), shock_number=1)
    tap(alice_alert, "cpr_started", ago(minutes=18, seconds=31))
    tap(alice_alert, "rosc", ago(minutes=11, seconds=5))
    tap(erin_alert, "ambulance_arrived", ago(minutes=9, seconds=52))
    tap(erin_alert, "handover", ago(minutes=5, seconds=24))


def test_a_prefill_with_pads_on_and_a_shock_before_the_crews_cpr_is_accepted_as_it_is(erin_alert, alice_alert, erin):
    tap_a_bystander_cpr_arrest(erin_alert, alice_alert)
    prefill = actions.open_form(actor=erin.user, kind="outcome", alert_id=erin_alert.pk).prefill
    assert prefill["pads_on_at"] < prefill["first_shock_at"] < prefill["cpr_started_at"]

    outcome, created = submit(erin_alert, "outcome", **prefill, location_type="home", witnessed="bystander")

    assert created
    assert outcome.pads_on_at < outcome.cpr_started_at


@pytest.mark.processes  # node
def test_the_app_accepts_the_same_prefill(erin_alert, alice_alert, erin):
    """The phone's rules (records-rules.js, run in Node) find nothing wrong with that prefill either,
    so the firefighter is not shown an error the server would not give."""
    node = shutil.which("node")
    assert node, "Node runs the app's rules here, as `make test` runs tests/js/"
    tap_a_bystander_cpr_arrest(erin_alert, alice_alert)
    prefill = actions.open_form(actor=erin.user, kind="outcome", alert_id=erin_alert.pk).prefill
    script = (
        f"import {{ validate, valuesFrom }} from {json.dumps(RECORDS_RULES.as_uri())};\n"
        "let input = '';\n"
        "process.stdin.on('data', (chunk) => (input += chunk));\n"
        "process.stdin.on('end', () => {\n"
        "  const values = valuesFrom('outcome', JSON.parse(input));\n"
        "  process.stdout.write(JSON.stringify(validate('outcome', values)));\n"
        "});\n"
    )
    found = subprocess.run(
        [node, "--input-type=module", "-e", script],
        input=json.dumps(prefill),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(found.stdout) == {}


def test_a_time_typed_to_the_minute_beside_a_tapped_one_in_the_same_minute_is_accepted(erin_alert, erin):
    arrived = ago(minutes=20).replace(second=17, microsecond=412000)
    tap(erin_alert, "arrived", arrived)
    prefill = actions.open_form(actor=erin.user, kind="outcome", alert_id=erin_alert.pk).prefill
    assert prefill["crew_arrived_at"] == arrived.isoformat()

    # 17:49 typed for the crew's CPR beside the prefilled arrival at 17:49:17.
    typed = as_the_app_types_it(arrived)
    outcome, created = submit(
        erin_alert, "outcome", **valid_outcome(crew_arrived_at=prefill["crew_arrived_at"], cpr_started_at=typed)
    )

    assert created
    assert outcome.cpr_started_at < outcome.crew_arrived_at  # stored as typed, to the minute


def test_a_later_change_keeps_accepting_the_time_typed_to_the_minute(erin_alert, erin):
    arrived = ago(minutes=20).replace(second=17, microsecond=412000)
    submit(
        erin_alert,
        "outcome",
        **valid_outcome(crew_arrived_at=arrived.isoformat(), cpr_started_at=as_the_app_types_it(arrived)),
    )
    actions.change_record(
        actor=erin.user,
        kind="outcome",
        alert_id=erin_alert.pk,
        idempotency_key=uuid.uuid4(),
        reason="Sex recorded wrongly.",
        fields={"sex": "male"},
    )
    assert Outcome.objects.get().sex == "male"


def test_a_typed_minute_before_the_tapped_one_is_still_refused_naming_the_field(erin_alert):
    arrived = ago(minutes=20).replace(second=17, microsecond=412000)
    a_minute_earlier = as_the_app_types_it(arrived - datetime.timedelta(minutes=1))
    fields = refused_fields(erin_alert, crew_arrived_at=arrived.isoformat(), cpr_started_at=a_minute_earlier)
    assert list(fields) == ["cpr_started_at"]
    assert fields["cpr_started_at"][0].startswith("CPR started (")
    assert "cannot be before crew arrived (" in fields["cpr_started_at"][0]


def test_two_tapped_times_are_still_compared_to_the_second(erin_alert):
    arrived = ago(minutes=20).replace(second=17, microsecond=412000)
    fields = refused_fields(
        erin_alert,
        crew_arrived_at=arrived.isoformat(),
        cpr_started_at=arrived.replace(second=16).isoformat(),
    )
    assert list(fields) == ["cpr_started_at"]


@pytest.mark.parametrize(
    ("minutes_ago", "field", "message_start"),
    [
        # A shock before the pads were on (valid_outcome: arrived 20, CPR 19, pads 18 minutes ago).
        ({"pads_on_at": 18, "first_shock_at": 18.5}, "first_shock_at", "First shock ("),
        # ROSC before the crew arrived.
        ({"rosc_at": 21}, "rosc_at", "ROSC ("),
        # Handover before the crew arrived.
        ({"handover_at": 25}, "handover_at", "Handover ("),
        # CPR, and pads on, before the crew arrived.
        ({"cpr_started_at": 21}, "cpr_started_at", "CPR started ("),
        ({"pads_on_at": 21, "cpr_started_at": None}, "pads_on_at", "Pads on ("),
    ],
)
def test_orders_that_cannot_happen_are_refused_naming_the_field(erin_alert, minutes_ago, field, message_start):
    times = {name: None if m is None else ago(seconds=m * 60).isoformat() for name, m in minutes_ago.items()}
    fields = refused_fields(erin_alert, **times)
    assert list(fields) == [field]
    assert fields[field][0].startswith(message_start) and "cannot be before" in fields[field][0]


def test_rosc_before_the_crew_arrived_is_refused_also_when_typed_to_the_minute(erin_alert):
    arrived = ago(minutes=20).replace(second=30, microsecond=0)
    fields = refused_fields(
        erin_alert, crew_arrived_at=arrived.isoformat(), rosc_at=as_the_app_types_it(ago(minutes=22))
    )
    assert list(fields) == ["rosc_at"]
    assert "cannot be before crew arrived" in fields["rosc_at"][0]


def js_time_order() -> dict:
    """TIME_ORDER as written in records-rules.js: an object literal of arrays of string pairs, read
    as JSON once its keys are quoted and its trailing commas dropped."""
    block = re.search(r"export const TIME_ORDER = (\{.*?\n\});", RECORDS_RULES.read_text(), re.S)
    assert block, "TIME_ORDER not found in pwa/app/records-rules.js"
    literal = re.sub(r",(\s*[\]}])", r"\1", re.sub(r"^(\s*)(\w+):", r'\1"\2":', block.group(1), flags=re.M))
    return json.loads(literal)


def test_the_app_checks_the_same_pairs_of_times_as_the_server():
    server = {kind.value: [list(pair) for pair in pairs] for kind, pairs in validation.TIME_ORDER.items()}
    assert js_time_order() == server
