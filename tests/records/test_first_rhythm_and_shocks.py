"""The first rhythm and the crew's shocks on the outcome form: two Utstein items, kept apart.

Found by the ninth trial of the product: the crew tapped "Shock delivered" without tapping the
analysis before it, so the form prefilled one shock and no first rhythm, and then refused its own
prefill ("Shocks can only be given when the first rhythm was 'Shock advised'"). A first rhythm
classed "no shock advised" can also become shockable later and be shocked. Now shocks are accepted
whatever the first rhythm (only the crew's defibrillator must be answered Yes), and the first
rhythm is prefilled from the first analysis the crew's phones logged with its advice, unless a
shock was logged before it (then the first analysis was not logged, and its advice is not known).
"""

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from backend.checklists.actions import record_onscene_event
from backend.records import actions
from tests.records.conftest import ago, submit

RECORDS_RULES = Path(__file__).resolve().parents[2] / "pwa" / "app" / "records-rules.js"


def tap(alert, type, minutes_ago, **data):
    record_onscene_event(
        actor=alert.responder.user,
        alert_id=alert.pk,
        idempotency_key=uuid.uuid4(),
        type=type,
        occurred_at=ago(minutes=minutes_ago),
        data=data,
    )


def prefill_of(alert) -> dict:
    return actions.open_form(actor=alert.responder.user, kind="outcome", alert_id=alert.pk).prefill


def on_scene(alert):
    tap(alert, "arrived", 13)


def test_a_shock_tapped_without_its_analysis_is_prefilled_and_accepted_as_it_is(erin_alert):
    """The trial's call: pads on and a shock, no analysis tapped."""
    on_scene(erin_alert)
    tap(erin_alert, "pads_on", 10)
    tap(erin_alert, "shock", 9, shock_number=1)

    prefill = prefill_of(erin_alert)
    assert "first_rhythm" not in prefill
    assert (prefill["crew_shocks"], prefill["defibrillator_applied"]) == (1, True)
    outcome, created = submit(erin_alert, "outcome", **prefill)
    assert created and (outcome.crew_shocks, outcome.first_rhythm) == (1, "")


def test_the_first_rhythm_is_the_first_analysis_logged_with_its_advice(erin_alert, alice_alert):
    on_scene(erin_alert)
    tap(erin_alert, "pads_on", 12)
    tap(alice_alert, "analysis", 11)  # tapped on the event grid: no advice
    tap(erin_alert, "analysis", 11, advice="no_shock_advised")
    tap(erin_alert, "analysis", 9, advice="shock_advised")  # shockable later, and shocked
    tap(erin_alert, "shock", 8, shock_number=1)

    prefill = prefill_of(erin_alert)
    assert (prefill["first_rhythm"], prefill["crew_shocks"]) == ("no_shock_advised", 1)
    _, created = submit(erin_alert, "outcome", **prefill)
    assert created


def test_no_first_rhythm_is_prefilled_when_a_shock_was_logged_before_any_analysis(erin_alert):
    """The analysis that advised the first shock was not logged: the one logged after it is not
    the first rhythm."""
    on_scene(erin_alert)
    tap(erin_alert, "shock", 10, shock_number=1)
    tap(erin_alert, "analysis", 8, advice="no_shock_advised")

    prefill = prefill_of(erin_alert)
    assert "first_rhythm" not in prefill and prefill["crew_shocks"] == 1


@pytest.mark.processes  # node
def test_the_app_accepts_the_same_prefill(erin_alert):
    """The phone's rules (records-rules.js, run in Node) find nothing wrong with the trial's
    prefill either: it was the phone that refused it."""
    node = shutil.which("node")
    assert node, "Node runs the app's rules here, as `make test` runs tests/js/"
    on_scene(erin_alert)
    tap(erin_alert, "pads_on", 10)
    tap(erin_alert, "shock", 9, shock_number=1)
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
        input=json.dumps(prefill_of(erin_alert)),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(found.stdout) == {}
