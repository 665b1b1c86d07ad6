"""The app's modules generated from the server's definitions (backend/records/app_modules.py) are
committed as the command writes them, and the app and the board use them: the names of states and
reasons are the server's everywhere, and the after-call forms' rules on the phone agree with what
the server accepts (fields, required answers, choices, limits). Node reads the app's modules as a
phone would, so a hand edit on either side fails here."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from backend.dispatch.actions import RESPONSES
from backend.dispatch.models import (
    COMMITTED_STATES,
    AlertState,
    DeclineReason,
    IncidentCategory,
    StandDownReason,
)
from backend.records import app_modules, validation

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "pwa" / "app"
# Node runs the app's modules: a process per check (make test-fast leaves these out).
pytestmark = pytest.mark.processes
WRITE_THEM = "run `python manage.py write_app_modules`, then `node pwa/tools/shell-version.mjs --write`"


def run_node(script: str):
    """The JSON that `script` (an ES module) writes to stdout."""
    node = shutil.which("node")
    assert node, "Node reads the app's modules here, as `make test` runs tests/js/"
    done = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(done.stdout)


def app_module(name: str) -> str:
    return json.dumps((APP / name).as_uri())


@pytest.mark.parametrize("path", sorted(app_modules.modules()), ids=lambda path: path.name)
def test_the_committed_module_is_what_the_command_writes(path):
    assert path.read_text(encoding="utf-8") == app_modules.modules()[path], f"{path.name} is out of date: {WRITE_THEM}"


def test_the_command_checks_without_writing_and_fails_on_a_stale_module(tmp_path, monkeypatch, settings):
    call_command("write_app_modules", "--check")  # the committed files are up to date

    stale = tmp_path / "labels.js"
    stale.write_text("// an old copy\n")
    monkeypatch.setattr(
        "backend.records.management.commands.write_app_modules.modules", lambda: {stale: "// the new copy\n"}
    )
    settings.BASE_DIR = tmp_path
    with pytest.raises(CommandError, match=r"labels\.js"):
        call_command("write_app_modules", "--check")
    assert stale.read_text() == "// an old copy\n"

    call_command("write_app_modules")
    assert stale.read_text() == "// the new copy\n"


def test_the_new_modules_are_in_the_app_shell():
    shell = (ROOT / "pwa" / "sw.js").read_text()
    for path in app_modules.modules():
        assert f'"/app/{path.name}"' in shell, f"{path.name} is not precached by pwa/sw.js"


# --- Labels ---------------------------------------------------------------------------------------


def test_the_app_names_states_categories_and_decline_reasons_as_the_server_does():
    words = run_node(
        f"import * as format from {app_module('format.js')};\n"
        "process.stdout.write(JSON.stringify({\n"
        "  states: format.STATE_LABELS,\n"
        "  declineReasons: format.DECLINE_REASONS,\n"
        "  categories: Object.fromEntries(['cardiac_arrest', 'unconscious', 'other_medical']"
        ".map((c) => [c, format.categoryDetail(c)])),\n"
        "}));\n"
    )
    assert words["states"] == {value: str(label) for value, label in AlertState.choices}
    assert words["states"]["received"] == "Shown on device"
    assert words["declineReasons"] == [[value, str(label)] for value, label in DeclineReason.choices]
    assert words["categories"] == {value: str(label) for value, label in IncidentCategory.choices}


def test_the_app_has_words_for_every_reason_a_responder_is_stood_down():
    """The phone tells its firefighter in sentences of its own; each reason the server knows has one."""
    texts = run_node(
        f"import {{ stoodDownText, stoodDownShort }} from {app_module('format.js')};\n"
        f"const reasons = {json.dumps(StandDownReason.values)};\n"
        "process.stdout.write(JSON.stringify({\n"
        "  fallback: [stoodDownText('no such reason'), stoodDownShort('no such reason')],\n"
        "  each: reasons.map((r) => [stoodDownText(r), stoodDownShort(r)]),\n"
        "}));\n"
    )
    for reason, (full, short) in zip(StandDownReason.values, texts["each"], strict=True):
        assert full != texts["fallback"][0] and short != texts["fallback"][1], reason


def test_the_app_offers_a_decline_in_exactly_the_states_the_server_takes_one():
    """Found by a trial of the product: on scene the phone offered "Can't attend after all", and the
    server refused it. "Decline" and "Can't attend after all" follow the server's own transition."""
    offered = run_node(
        f"import {{ DECLINABLE, mayWithdraw }} from {app_module('store.js')};\n"
        f"const states = {json.dumps(AlertState.values)};\n"
        "process.stdout.write(JSON.stringify({\n"
        "  declinable: [...DECLINABLE],\n"
        "  afterAccepting: states.filter((state) => mayWithdraw({ state })),\n"
        "}));\n"
    )
    takes_a_decline = RESPONSES["decline"].allowed_from
    assert set(offered["declinable"]) == takes_a_decline
    assert set(offered["afterAccepting"]) == takes_a_decline & COMMITTED_STATES
    assert AlertState.ON_SCENE not in offered["afterAccepting"]


# --- Form rules -------------------------------------------------------------------------------------

# The server's field types and the app's: the app shows a scale as choices, and the crew as ticks.
APP_TYPE = {"bool": "bool", "choice": "choice", "time": "time", "count": "count", "text": "text", "ids": "crew"}


def app_forms() -> dict:
    """Each form's fields as records-rules.js has them (without functions)."""
    return run_node(
        f"import {{ FORMS, KINDS, fieldsOf }} from {app_module('records-rules.js')};\n"
        "process.stdout.write(JSON.stringify(Object.fromEntries(KINDS.map((kind) => [kind, fieldsOf(kind)]))));\n"
    )


@pytest.fixture(scope="module")
def forms():
    return app_forms()


@pytest.mark.parametrize("kind", list(validation.FIELDS))
def test_the_app_asks_for_exactly_the_fields_the_server_accepts(forms, kind):
    assert sorted(field["name"] for field in forms[kind]) == sorted(validation.FIELDS[kind])


@pytest.mark.parametrize("kind", list(validation.FIELDS))
def test_the_app_requires_what_the_server_requires(forms, kind):
    app_required = {field["name"] for field in forms[kind] if field.get("required")}
    server_required = {name for name, spec in validation.FIELDS[kind].items() if spec.required}
    assert app_required == server_required


@pytest.mark.parametrize("kind", list(validation.FIELDS))
def test_each_field_has_the_servers_type_choices_and_limits(forms, kind):
    for field in forms[kind]:
        spec = validation.FIELDS[kind][field["name"]]
        where = f"{kind}.{field['name']}"
        if spec.type == "scale":
            # Offered as a choice of each whole number on the scale.
            assert field["type"] == "choice", where
            assert [value for value, _ in field["choices"]] == [
                str(n) for n in range(spec.minimum, spec.maximum + 1)
            ], where
            continue
        if field["name"] == "notes":
            assert field["type"] == "notes" and spec.type == "text", where
        else:
            assert field["type"] == APP_TYPE[spec.type], where
        if spec.type == "choice":
            labels = dict(app_modules.RECORD_MODELS[kind]._meta.get_field(field["name"]).choices)
            assert field["choices"] == [[value, str(labels[value])] for value in spec.choices], where
        if spec.type == "text":
            assert field.get("maxLength") == spec.max_length, where
        if spec.type == "count":
            assert field.get("maximum") == spec.maximum, where


@pytest.mark.parametrize("kind", list(validation.FIELDS))
def test_the_app_offers_not_known_for_the_yes_no_questions_the_server_takes_null_for(forms, kind):
    # The outcome at handover, and since migration 0009 the crew's compressions and defibrillator and
    # an estimated collapse time: unanswered is not known (null), never No; the app says "Not known".
    app_nullable = {field["name"] for field in forms[kind] if field["type"] == "bool" and field.get("nullable")}
    server_nullable = {name for name, spec in validation.FIELDS[kind].items() if spec.nullable and spec.type == "bool"}
    assert app_nullable == server_nullable
    if kind == "outcome":
        assert server_nullable == {
            "collapse_time_estimated",
            "compressions",
            "defibrillator_applied",
            "rosc_any_time",
            "rosc_at_handover",
            "ongoing_cpr_at_handover",
            "resuscitation_stopped",
        }


def test_the_app_allows_a_phones_clock_the_same_slack_as_the_server():
    slack = run_node(
        f"import {{ CLOCK_SLACK_MS }} from {app_module('form-schema.js')};\n"
        "process.stdout.write(JSON.stringify(CLOCK_SLACK_MS));\n"
    )
    assert slack == validation.CLOCK_SLACK.total_seconds() * 1000


def test_the_app_refuses_a_count_over_the_servers_limit():
    errors = run_node(
        f"import {{ validate, valuesFrom }} from {app_module('records-rules.js')};\n"
        "const values = { ...valuesFrom('outcome', {}), resuscitation_attempted: true, "
        f"public_defibrillator_shocks: {validation.MAX_SHOCKS + 1} }};\n"
        "process.stdout.write(JSON.stringify(validate('outcome', values)));\n"
    )
    assert list(errors) == ["public_defibrillator_shocks"]
