"""Structured logs without patient data: the important events are logged as JSON with their ids
and states, and nothing that locates or identifies a patient, a caller or a responder's device
reaches a log line, even when code tries to log it (backend/logs.py)."""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from pythonjsonlogger.json import JsonFormatter

from backend import logs
from backend.delivery.models import Delivery
from backend.delivery.sending import DeliveryPass
from backend.delivery.subscriptions import subscribe_device
from backend.delivery.transports.webpush import WebPushTransport
from backend.dispatch import actions

ROOT = Path(__file__).resolve().parents[2]

# Details that must never reach a log: distinctive, so that a leak cannot hide in other text.
ADDRESS = "17 Zanzibar Crescent, Norwich"
NOTES = "Patient Ophelia Quimby, 83, on warfarin; key safe code 4711"
WHAT3WORDS = "zebra.quartz.mango"
LATITUDE, LONGITUDE = 52.631234, 1.296789
CANCEL_REASON = "Quimby family say she has a DNACPR"
PHONE = "+447700900123"


@pytest.fixture
def json_logs():
    """Every record of every logger as the production handler writes it: the JSON formatter of
    LOGGING with the sensitive-fields filter. Returns a function giving the lines written so far."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    spec = dict(logs.logging_config(log_format="json", level="INFO")["formatters"]["json"])
    spec.pop("()")
    handler.setFormatter(JsonFormatter(**spec))
    handler.addFilter(logs.RefuseSensitiveFields())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: stream.getvalue()
    root.removeHandler(handler)
    root.setLevel(level)


def records(text: str) -> list[dict]:
    """Every line parsed as JSON (a line that is not JSON fails the test)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def by_event(parsed: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for record in parsed:
        grouped.setdefault(record.get("event", ""), []).append(record)
    return grouped


@sync_to_async
def subscribe(responder, subscription):
    subscribe_device(
        actor=responder.user,
        endpoint=subscription["endpoint"],
        p256dh=subscription["keys"]["p256dh"],
        auth=subscription["keys"]["auth"],
        label="phone",
    )


@sync_to_async
def give_phone(responder):
    responder.phone_number = PHONE
    responder.save(update_fields=["phone_number"])


@pytest.mark.django_db(transaction=True)
async def test_an_incident_from_creation_to_cancellation_is_logged_by_id_only(
    json_logs, push_service, settings, carol, alice, bob
):
    settings.PUSH_SERVICE_ALLOWLIST = [*settings.PUSH_SERVICE_ALLOWLIST, "http://127.0.0.1:*"]
    alices_phone, bobs_phone = push_service.subscribe(), push_service.subscribe()
    await subscribe(alice, alices_phone)
    await subscribe(bob, bobs_phone)
    await give_phone(alice)
    push_service.respond_with(503, endpoint=bobs_phone)

    incident = await sync_to_async(actions.create_incident)(
        actor=carol,
        cad_reference="EEAST-LOG-1",
        latitude=LATITUDE,
        longitude=LONGITUDE,
        address=ADDRESS,
        what3words=WHAT3WORDS,
        notes=NOTES,
    )
    alerts = {
        a.responder_id: a for a in await sync_to_async(actions.dispatch_incident)(actor=carol, incident_id=incident.pk)
    }
    async with WebPushTransport() as transport:
        worker = DeliveryPass({"webpush": transport}, name="log-test-worker")
        await worker.run_once()
        await worker.drain()
    alice_alert = alerts[alice.pk]
    await sync_to_async(actions.respond_to_alert)(actor=alice.user, alert_id=alice_alert.pk, response="received")
    await sync_to_async(actions.respond_to_alert)(actor=alice.user, alert_id=alice_alert.pk, response="accept")
    await sync_to_async(actions.cancel_incident)(actor=carol, incident_id=incident.pk, reason=CANCEL_REASON)

    text = json_logs()
    parsed = records(text)
    events = by_event(parsed)
    [created] = events["incident.created"]
    assert (created["incident_id"], created["actor_id"], created["level"]) == (incident.pk, carol.pk, "INFO")
    assert created["logger"] == "backend.dispatch.actions" and created["time"]
    [dispatched] = events["incident.dispatched"]
    assert dispatched["incident_id"] == incident.pk
    assert sorted(dispatched["alert_ids"]) == sorted(a.pk for a in alerts.values())
    [claimed] = events["deliveries.claimed"]
    deliveries = await sync_to_async(lambda: {d.alert_id: d.pk for d in Delivery.objects.filter(kind="alert")})()
    assert sorted(claimed["delivery_ids"]) == sorted(deliveries.values())
    [sent] = events["delivery.sent"]
    assert (sent["delivery_id"], sent["alert_id"], sent["status_code"]) == (
        deliveries[alice_alert.pk],
        alice_alert.pk,
        201,
    )
    assert (sent["channel"], sent["outcome"], sent["attempt"]) == ("webpush", "sent", 1)
    [failed] = events["delivery.failed"]
    assert (failed["alert_id"], failed["status_code"], failed["outcome"]) == (alerts[bob.pk].pk, 503, "failed")
    [received] = events["alert.received"]
    assert (received["alert_id"], received["state"]) == (alice_alert.pk, "received")
    [answered] = events["alert.answered"]
    assert (answered["alert_id"], answered["response"], answered["state"]) == (alice_alert.pk, "accept", "accepted")
    [cancelled] = events["incident.cancelled"]
    assert cancelled["incident_id"] == incident.pk and cancelled["state"] == "cancelled"
    assert sorted(cancelled["alert_ids"]) == sorted(a.pk for a in alerts.values())

    # Nothing about the patient, the place, the devices or the phones, in any form.
    secrets = [
        ADDRESS,
        "Zanzibar",
        "Quimby",
        "warfarin",
        WHAT3WORDS,
        str(LATITUDE),
        str(LONGITUDE),
        "DNACPR",
        PHONE,
        "7700900123",
        alices_phone["endpoint"],
        alices_phone["keys"]["p256dh"],
        alices_phone["keys"]["auth"],
        bobs_phone["endpoint"],
        bobs_phone["keys"]["auth"],
    ]
    leaked = [secret for secret in secrets if secret in text]
    assert leaked == []
    # ...and not because the filter had to take it out: the code logs ids, not content.
    assert [record for record in parsed if "removed_fields" in record] == []


def emit(record_logger: logging.Logger, *args, **kwargs) -> dict:
    """What the production JSON handler writes for one log call, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    spec = dict(logs.logging_config(log_format="json", level="INFO")["formatters"]["json"])
    spec.pop("()")
    handler.setFormatter(JsonFormatter(**spec))
    handler.addFilter(logs.RefuseSensitiveFields())
    record_logger.addHandler(handler)
    try:
        record_logger.warning(*args, **kwargs)
    finally:
        record_logger.removeHandler(handler)
    [parsed] = records(stream.getvalue())
    return parsed


@pytest.fixture
def quiet_logger():
    logger = logging.getLogger("tests.ops.sensitive")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger
    logger.propagate = True


def test_the_filter_refuses_sensitive_fields_and_names_what_it_removed(quiet_logger):
    record = emit(
        quiet_logger,
        "Incident %s",
        7,
        extra={
            "incident_id": 7,
            "address": ADDRESS,
            "Latitude": LATITUDE,
            "longitude": LONGITUDE,
            "what3words": WHAT3WORDS,
            "incident": {"id": 7, "notes": NOTES, "responders": [{"name": "Alice", "phone_number": PHONE}]},
            "subscription": {"endpoint": "https://fcm.googleapis.com/fcm/send/abc", "keys": {"auth": "x"}},
            "error": f"Notify refused {PHONE}",
        },
    )

    assert record["message"] == "Incident 7" and record["incident_id"] == 7
    assert record["incident"] == {"id": 7, "responders": [{"name": "Alice"}]}
    assert record["subscription"] == {}
    assert record["error"] == "Notify refused [phone removed]"
    assert record["removed_fields"] == sorted(
        [
            "Latitude",
            "address",
            "incident.responders.phone_number",
            "incident.notes",
            "longitude",
            "subscription.endpoint",
            "subscription.keys",
            "what3words",
        ]
    )
    assert not {"address", "Latitude", "longitude", "what3words"} & set(record)


def test_the_filter_refuses_the_after_call_records_health_and_welfare_fields(quiet_logger):
    record = emit(
        quiet_logger,
        "Record stored",
        extra={
            "alert_id": 3,
            "impact": 5,
            "follow_up": "trim",
            "outcome": {"id": 9, "first_rhythm": "shock_advised", "rosc_at_handover": True, "age_band": "75_plus"},
            "Not_Attempted_Reason": "dnacpr",
            "reason": "She was my neighbour",
        },
    )

    assert record["alert_id"] == 3 and record["outcome"] == {"id": 9}
    assert record["removed_fields"] == [
        "Not_Attempted_Reason",
        "follow_up",
        "impact",
        "outcome.age_band",
        "outcome.first_rhythm",
        "outcome.rosc_at_handover",
        "reason",
    ]


def test_every_field_of_the_after_call_forms_is_sensitive_but_their_keys_and_bookkeeping():
    from backend.records.models import Attendance, Outcome, WelfareCheckIn

    fields = {field.name for model in (Attendance, Outcome, WelfareCheckIn) for field in model._meta.fields}
    bookkeeping = {"id", "alert", "incident", "station", "submitted_by", "submitted_at", "updated_at", "version"}
    bookkeeping |= {"idempotency_key", "body_hash", "pseudonymised_at"}
    assert fields - bookkeeping <= logs.sensitive_fields()
    assert not bookkeeping & logs.sensitive_fields()
    assert {"crew", "crew_shocks", "sex", "witnessed", "resuscitation_attempted"} <= logs.sensitive_fields()


@pytest.mark.parametrize(
    ("message", "argument", "secret", "kept"),
    [
        ("Texting %s", "+44 7700 900123", "7700 900123", "Texting [phone removed]"),
        ("Texting %s", "07700900123", "07700900123", "Texting [phone removed]"),
        ("Incident at %s", "52.631234, 1.296789", "52.631234", "Incident at [position removed]"),
        ("Push to %s failed", "https://fcm.googleapis.com/fcm/send/dGhpcyBpcyBh", "dGhpcyBpcyBh", "fcm.googleapis.com"),
    ],
)
def test_the_filter_blanks_personal_data_in_messages(quiet_logger, message, argument, secret, kept):
    record = emit(quiet_logger, message, argument)

    assert secret not in json.dumps(record)
    assert kept in record["message"]


def test_the_filter_leaves_ids_and_timings_alone(quiet_logger):
    message = (
        "Delivery 123456 answered 201 after 0.1234 s (worker host:4242:ab12, key 01234567-8901-4abc-9def-012345678901)"
    )
    record = emit(quiet_logger, "%s", message)

    assert record["message"] == message


def test_the_filter_blanks_database_rows_quoted_in_tracebacks(quiet_logger):
    try:
        raise ValueError(f'new row violates check constraint\nDETAIL:  Failing row contains (7, "{ADDRESS}", {PHONE}).')
    except ValueError:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logs.ReadableFormatter())
        handler.addFilter(logs.RefuseSensitiveFields())
        quiet_logger.addHandler(handler)
        try:
            quiet_logger.exception("Saving incident %s failed", 7, extra={"incident_id": 7})
        finally:
            quiet_logger.removeHandler(handler)

    text = stream.getvalue()
    assert "Saving incident 7 failed [incident_id=7]" in text
    assert "Failing row contains [row removed]" in text and "ValueError" in text
    assert "Zanzibar" not in text and "7700900123" not in text


class Unreadable(dict):
    def items(self):
        raise RuntimeError("cannot be read")


def test_a_record_the_filter_cannot_check_is_withheld_not_emitted_and_not_raised(quiet_logger):
    record = emit(quiet_logger, "Texting %s", PHONE, extra={"incident_id": 7, "context": Unreadable(phone=PHONE)})

    assert record["message"] == "A log record was withheld: it could not be checked for personal data."
    assert PHONE not in json.dumps(record) and "incident_id" not in record


def log_line_in(env: dict) -> subprocess.CompletedProcess:
    """Load the settings in a fresh interpreter with `env`, configure logging from LOGGING, log one
    record."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "LOG_"))}
    program = (
        "import logging, logging.config, os\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'backend.settings'\n"
        "from django.conf import settings\n"
        "logging.config.dictConfig(settings.LOGGING)\n"
        "logging.getLogger('backend.dispatch.actions').info("
        "'Incident created', extra={'event': 'incident.created', 'incident_id': 7, 'address': 'x'})\n"
    )
    return subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.processes
def test_development_logs_are_readable_lines_by_default():
    result = log_line_in({})

    assert result.returncode == 0, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "INFO backend.dispatch.actions Incident created [event=incident.created incident_id=7" in line
    assert "removed_fields=['address']" in line


@pytest.mark.processes
def test_log_format_json_gives_one_json_object_per_line():
    result = log_line_in({"LOG_FORMAT": "json"})

    assert result.returncode == 0, result.stderr
    record = json.loads(result.stderr.strip().splitlines()[-1])
    assert record["event"] == "incident.created" and record["incident_id"] == 7
    assert record["level"] == "INFO" and record["logger"] == "backend.dispatch.actions"
    assert "address" not in record and record["removed_fields"] == ["address"]


@pytest.mark.processes
def test_production_logs_json_by_default():
    from backend.delivery import vapid

    result = log_line_in(
        {
            "DJANGO_ENV": "production",
            "DJANGO_SECRET_KEY": "x" * 60,
            "DATABASE_URL": "postgres://u@db.invalid/x",
            "DJANGO_ALLOWED_HOSTS": "coresponder.example.nhs.uk",
            "VAPID_PRIVATE_KEY": vapid.private_key_b64(vapid.generate()),
            "VAPID_SUBJECT": "mailto:ops@example.nhs.uk",
        }
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stderr.strip().splitlines()[-1])["incident_id"] == 7


@pytest.mark.processes
def test_an_unknown_log_format_stops_start_up_with_a_message():
    result = log_line_in({"LOG_FORMAT": "xml"})

    assert result.returncode != 0
    assert "LOG_FORMAT='xml'" in result.stderr and "json, plain" in result.stderr
