"""The SMS step of the escalation ladder texts, through GOV.UK Notify (a real HTTP stand-in that checks
the client's JWT and the request body), exactly the responders whose device has not shown the alert;
each answer from Notify leads to the right end or retry, and a text no longer needed is not sent."""

import datetime
import json
import time

import jwt
import pytest
import requests
from asgiref.sync import sync_to_async
from django.db.models import F
from django.utils import timezone

from backend.accounts.models import Responder
from backend.delivery.models import Channel, Delivery, DeliveryState
from backend.delivery.sending import DeliveryPass, default_transports
from backend.delivery.transports.sms import NotifySmsTransport
from backend.dispatch.actions import cancel_incident, dispatch_incident, respond_to_alert
from backend.dispatch.escalation import run_due_escalations
from backend.dispatch.models import Alert, AlertState, Incident
from tests.support.notify_service import SMS_PATH, notify_service_fixture  # noqa: F401 (a fixture)

with_db = pytest.mark.django_db(transaction=True)

LADDER = [(60, "ring"), (90, "sms")]
APP = "https://coresponder.example.org"
PHONES = {"alice": "07700 900001", "bob": "+447700900002", "charlie": "07700900003"}
# Set back the dispatch this far, so the ladder's times are in the past and what the SMS step
# enqueues is due at once for the worker.
DISPATCHED_AGO = datetime.timedelta(seconds=120)


@pytest.fixture(autouse=True)
def configured(settings, notify_service):
    settings.ESCALATION_LADDER = LADDER
    settings.DISPATCH_RADIUS_KM = 20  # alice and bob (Norwich)
    settings.DISPATCH_NEXT_RINGS_KM = [35.0]  # charlie (Great Yarmouth) in the ring step
    settings.PUBLIC_BASE_URL = APP
    settings.NOTIFY_API_KEY = notify_service.api_key
    settings.NOTIFY_SMS_TEMPLATE_ID = notify_service.template_id
    settings.NOTIFY_BASE_URL = notify_service.base_url
    settings.PUSH_TIMEOUT_SECONDS = 2.0


# --- helpers ------------------------------------------------------------------------------------------


@sync_to_async
def give_phones(*responders):
    for responder in responders:
        Responder.objects.filter(pk=responder.pk).update(phone_number=PHONES[responder.user.username])


@sync_to_async
def dispatch(carol, incident) -> Incident:
    """Dispatch, then move the clock of the incident back as if it had been dispatched two minutes ago."""
    dispatch_incident(actor=carol, incident_id=incident.pk)
    Incident.objects.filter(pk=incident.pk).update(
        dispatched_at=F("dispatched_at") - DISPATCHED_AGO, next_escalation_at=F("next_escalation_at") - DISPATCHED_AGO
    )
    Alert.objects.filter(incident=incident).update(alerted_at=F("alerted_at") - DISPATCHED_AGO)
    return Incident.objects.get(pk=incident.pk)


def at(incident, seconds):
    return incident.dispatched_at + datetime.timedelta(seconds=seconds)


@sync_to_async
def escalate_to_the_sms_step(incident) -> None:
    assert run_due_escalations(now=at(incident, 59)) == 0
    assert run_due_escalations(now=at(incident, 61)) == 1  # ring
    assert run_due_escalations(now=at(incident, 91)) == 1  # sms
    assert Incident.objects.get(pk=incident.pk).escalation_step == 2


@sync_to_async
def alert_of(incident, responder) -> Alert:
    return Alert.objects.get(incident=incident, responder=responder)


@sync_to_async
def respond(responder, alert, response):
    respond_to_alert(actor=responder.user, alert_id=alert.pk, response=response, reason="too_far")


@sync_to_async
def texts() -> list[tuple[str, Delivery]]:
    """Every SMS delivery, with whose it is."""
    rows = Delivery.objects.filter(channel=Channel.SMS).select_related("alert__responder__user").order_by("pk")
    return [(d.alert.responder.user.username, d) for d in rows]


@sync_to_async
def alerted_names(incident) -> list[str]:
    return sorted(Alert.objects.filter(incident=incident).values_list("responder__user__username", flat=True))


class Worker:
    """A DeliveryPass with the transports production would configure from the settings."""

    def __init__(self):
        self.transports = default_transports()
        self.worker = DeliveryPass(self.transports, name="sms-test-worker")

    async def __aenter__(self):
        for transport in self.transports.values():
            await transport.__aenter__()
        return self

    async def __aexit__(self, *exc):
        for transport in self.transports.values():
            await transport.__aexit__(*exc)

    async def send_everything_due(self):
        await self.worker.run_once()
        await self.worker.drain()


async def send_everything_due():
    async with Worker() as worker:
        await worker.send_everything_due()


# --- the SMS step ---------------------------------------------------------------------------------------


@with_db
async def test_only_the_responder_whose_device_has_not_shown_the_alert_gets_a_text(
    notify_service,
    incident,
    carol,
    alice,
    bob,
    charlie,
):
    await give_phones(alice, bob)  # charlie has no phone number
    incident = await dispatch(carol, incident)
    alice_alert, bob_alert = await alert_of(incident, alice), await alert_of(incident, bob)
    await respond(alice, alice_alert, "received")
    await escalate_to_the_sms_step(incident)
    assert await alerted_names(incident) == ["alice", "bob", "charlie"]  # charlie came in with the ring
    alice_alert, bob_alert = await alert_of(incident, alice), await alert_of(incident, bob)
    assert (alice_alert.state, bob_alert.state) == (AlertState.RECEIVED, AlertState.ALERTED)

    await send_everything_due()

    [text] = notify_service.received
    [(name, delivery)] = await texts()
    assert name == "bob"
    assert text.phone_number == PHONES["bob"]
    assert text.template_id == notify_service.template_id
    assert text.reference == f"delivery-{delivery.pk}"
    # The app's link to bob's alert, and nothing about the patient or where they are.
    assert text.personalisation == {"url": f"{APP}/#/alerts/{bob_alert.pk}"}
    assert f"{APP}/#/alerts/{bob_alert.pk}" in text.body
    sent = json.dumps(text.request_json).lower() + text.body.lower()
    for detail in ("example road", "norwich", "eeast", "cardiac_arrest", str(incident.latitude)[:5]):
        assert detail not in sent
    # Signed with the configured key: Notify's client, our service, a fresh token.
    assert text.jwt_claims["iss"] == notify_service.service_id
    assert abs(time.time() - text.jwt_claims["iat"]) < 30
    assert text.headers["user-agent"].startswith("NOTIFY-API-PYTHON-CLIENT/")
    assert not notify_service.rejections

    assert delivery.alert_id == bob_alert.pk
    assert (delivery.state, delivery.last_status, delivery.attempts) == (DeliveryState.SENT, 201, 1)
    assert delivery.round == 1  # bob's first text (rounds count per channel)
    assert delivery.target == "…002" and delivery.last_error == "" and delivery.finished_at is not None


@with_db
async def test_everyone_still_unacknowledged_gets_their_own_text_including_the_ring_just_alerted(
    notify_service,
    incident,
    carol,
    alice,
    bob,
    charlie,
):
    await give_phones(alice, bob, charlie)
    incident = await dispatch(carol, incident)
    await escalate_to_the_sms_step(incident)

    await send_everything_due()

    received = {text.phone_number: text for text in notify_service.received}
    assert sorted(received) == sorted(PHONES.values())
    by_name = dict(await texts())
    assert {d.state for d in by_name.values()} == {DeliveryState.SENT}
    for name, delivery in by_name.items():
        text = received[PHONES[name]]
        assert text.reference == f"delivery-{delivery.pk}"
        assert text.personalisation == {"url": f"{APP}/#/alerts/{delivery.alert_id}"}


@with_db
async def test_an_incident_short_of_crews_at_the_sms_step_texts_those_not_shown_the_alert(
    notify_service,
    incident,
    carol,
    alice,
    bob,
    charlie,
):
    """Until the incident is covered (two crews by default), the SMS step texts every responder
    whose alert is still "alerted" (escalation.py), and never the one who accepted."""
    await give_phones(alice, bob, charlie)
    incident = await dispatch(carol, incident)
    bob_alert = await alert_of(incident, bob)
    await respond(bob, bob_alert, "accept")
    await escalate_to_the_sms_step(incident)
    assert await alerted_names(incident) == ["alice", "bob", "charlie"]  # one crew of two: the ring ran

    await send_everything_due()

    assert sorted(text.phone_number for text in notify_service.received) == [PHONES["alice"], PHONES["charlie"]]
    assert sorted((name, d.state) for name, d in await texts()) == [
        ("alice", DeliveryState.SENT),
        ("charlie", DeliveryState.SENT),
    ]


@with_db
async def test_a_cancelled_incident_sends_no_text(
    notify_service,
    incident,
    carol,
    alice,
    bob,
):
    await give_phones(alice, bob)
    incident = await dispatch(carol, incident)
    await escalate_to_the_sms_step(incident)
    assert len(await texts()) == 2  # enqueued, not sent yet
    await sync_to_async(cancel_incident)(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")

    await send_everything_due()

    assert notify_service.attempts == []
    for _name, delivery in await texts():
        assert (delivery.state, delivery.attempts) == (DeliveryState.CANCELLED, 0)
        assert delivery.last_error == "Not sent: the incident is cancelled."
        assert delivery.finished_at is not None


@with_db
async def test_an_incident_cancelled_before_the_sms_step_enqueues_no_text(
    notify_service,
    incident,
    carol,
    alice,
    bob,
):
    await give_phones(alice, bob)
    incident = await dispatch(carol, incident)
    await sync_to_async(cancel_incident)(actor=carol, incident_id=incident.pk, reason="Hoax")
    assert await sync_to_async(run_due_escalations)(now=at(incident, 500)) == 0
    await send_everything_due()
    assert await texts() == [] and notify_service.attempts == []


@with_db
async def test_a_text_is_not_sent_to_someone_who_declined_after_it_was_enqueued(
    notify_service,
    incident,
    carol,
    alice,
    bob,
):
    await give_phones(alice, bob)
    incident = await dispatch(carol, incident)
    await escalate_to_the_sms_step(incident)
    await respond(alice, await alert_of(incident, alice), "decline")

    await send_everything_due()

    assert [text.phone_number for text in notify_service.received] == [PHONES["bob"]]
    states = {name: (d.state, d.last_error) for name, d in await texts()}
    assert states == {
        "alice": (DeliveryState.CANCELLED, "Not sent: the alert is declined."),
        "bob": (DeliveryState.SENT, ""),
    }


# --- what Notify answers ----------------------------------------------------------------------------


@with_db
async def test_notify_refusing_the_phone_number_fails_the_text_for_good_with_the_reason(
    notify_service,
    incident,
    carol,
    alice,
):
    await sync_to_async(Responder.objects.filter(pk=alice.pk).update)(phone_number="01603 123456")  # a landline
    incident = await dispatch(carol, incident)
    await escalate_to_the_sms_step(incident)

    await send_everything_due()
    await send_everything_due()  # nothing is retried

    assert notify_service.received == []
    [rejection] = notify_service.rejections
    assert (rejection.status, rejection.error) == (400, "ValidationError")
    [(_name, delivery)] = await texts()
    assert (delivery.state, delivery.last_status, delivery.attempts) == (DeliveryState.FAILED, 400, 1)
    assert "(400)" in delivery.last_error and "Not a UK mobile number" in delivery.last_error
    assert delivery.finished_at is not None


@with_db
@pytest.mark.parametrize(
    "status, message",
    [
        (400, "Can't send to this recipient using a team-only API key"),
        (403, "Invalid token: API key not found"),
    ],
)
async def test_other_refusals_fail_the_text_for_good(
    notify_service,
    incident,
    carol,
    alice,
    status,
    message,
):
    await give_phones(alice)
    notify_service.respond_with(status)
    incident = await dispatch(carol, incident)
    await escalate_to_the_sms_step(incident)

    await send_everything_due()

    [(_name, delivery)] = await texts()
    assert (delivery.state, delivery.last_status) == (DeliveryState.FAILED, status)
    assert f"({status})" in delivery.last_error and message in delivery.last_error
    assert [attempt.outcome for attempt in notify_service.attempts] == ["canned"]


@with_db
async def test_a_key_notify_does_not_know_is_refused_and_not_retried(
    notify_service,
    incident,
    carol,
    alice,
    settings,
):
    settings.NOTIFY_API_KEY = notify_service.other_api_key(service_id=notify_service.service_id)  # wrong secret
    await give_phones(alice)
    incident = await dispatch(carol, incident)
    await escalate_to_the_sms_step(incident)

    await send_everything_due()

    assert notify_service.received == []
    assert [(r.status, r.message) for r in notify_service.rejections] == [(403, "Invalid token: API key not found")]
    [(_name, delivery)] = await texts()
    assert (delivery.state, delivery.last_status) == (DeliveryState.FAILED, 403)


@with_db
@pytest.mark.parametrize("status", [429, 500, 503])
async def test_rate_limits_and_server_errors_are_retried_later(
    notify_service,
    incident,
    carol,
    alice,
    status,
):
    await give_phones(alice)
    notify_service.respond_with(status, times=1)
    incident = await dispatch(carol, incident)
    await escalate_to_the_sms_step(incident)

    async with Worker() as worker:
        before = timezone.now()
        await worker.send_everything_due()
        [(_name, delivery)] = await texts()
        assert (delivery.state, delivery.last_status, delivery.attempts) == (DeliveryState.PENDING, status, 1)
        assert delivery.next_attempt_at > before and delivery.finished_at is None
        assert delivery.last_error.startswith(f"Attempt 1: Notify refused the text ({status})")
        assert notify_service.received == []

        await worker.send_everything_due()  # not due yet
        assert len(notify_service.attempts) == 1

        await sync_to_async(Delivery.objects.update)(next_attempt_at=timezone.now())
        await worker.send_everything_due()

    [text] = notify_service.received
    assert text.phone_number == PHONES["alice"]
    [(_name, delivery)] = await texts()
    assert (delivery.state, delivery.last_status, delivery.attempts) == (DeliveryState.SENT, 201, 2)


@with_db
async def test_notify_not_answering_in_time_is_retried_without_a_made_up_status(
    notify_service,
    incident,
    carol,
    alice,
    settings,
):
    settings.PUSH_TIMEOUT_SECONDS = 0.3
    await give_phones(alice)
    notify_service.delay(2)
    incident = await dispatch(carol, incident)
    await escalate_to_the_sms_step(incident)

    started = time.monotonic()
    await send_everything_due()
    assert time.monotonic() - started < 1.5

    [(_name, delivery)] = await texts()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
    assert delivery.last_status is None  # Notify never answered
    assert "Could not reach Notify" in delivery.last_error


# --- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key, template", [(False, False), (True, False), (False, True), (True, True)])
def test_default_transports_include_sms_only_when_notify_is_configured(
    notify_service,
    settings,
    key,
    template,
):
    settings.NOTIFY_API_KEY = notify_service.api_key if key else ""
    settings.NOTIFY_SMS_TEMPLATE_ID = notify_service.template_id if template else ""
    transports = default_transports()
    assert "webpush" in transports
    if not (key and template):
        assert "sms" not in transports
        return
    sms = transports["sms"]
    assert isinstance(sms, NotifySmsTransport) and sms.channel == "sms"
    assert sms.template_id == notify_service.template_id
    assert sms.client.service_id == notify_service.service_id
    assert sms.client.base_url == notify_service.base_url


# --- the stand-in checks what the real service checks -------------------------------------------------


def _token(secret, *, iss, iat=None, alg="HS256"):
    return jwt.encode({"iss": iss, "iat": int(time.time()) if iat is None else iat}, secret, algorithm=alg)


@pytest.mark.parametrize(
    "how, status, message",
    [
        ("none", 401, "Unauthorized: authentication token must be provided"),
        ("wrong secret", 403, "Invalid token: API key not found"),
        ("other service", 403, "Invalid token: service not found"),
        ("old", 403, "Error: Your system clock must be accurate to within 30 seconds"),
        ("future", 403, "Error: Your system clock must be accurate to within 30 seconds"),
        ("unsigned", 403, "Invalid token: algorithm used is not HS256"),
        ("valid", 201, None),
    ],
)
def test_the_stand_in_checks_the_token(notify_service, how, status, message):
    service, secret = notify_service.service_id, notify_service.secret
    token = {
        "none": None,
        "wrong secret": _token("0" * 36, iss=service),
        "other service": _token(secret, iss="6a4d1c3e-0000-4000-8000-000000000000"),
        "old": _token(secret, iss=service, iat=int(time.time()) - 120),
        "future": _token(secret, iss=service, iat=int(time.time()) + 120),
        "unsigned": _token(None, iss=service, alg="none"),
        "valid": _token(secret, iss=service),
    }[how]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"phone_number": "07700900123", "template_id": notify_service.template_id, "personalisation": {"url": "x"}}
    response = requests.post(notify_service.base_url + SMS_PATH, json=body, headers=headers, timeout=5)
    assert response.status_code == status
    if message:
        assert response.json() == {"errors": [{"error": "AuthError", "message": message}], "status_code": status}
        assert notify_service.received == []
    else:
        assert response.json()["content"]["body"].endswith(": x")
        assert len(notify_service.received) == 1


@pytest.mark.parametrize(
    "change, message",
    [
        ({"template_id": "6a4d1c3e-0000-4000-8000-000000000000"}, "Template not found"),
        ({"template_id": "not-a-uuid"}, "template_id is not a valid UUID"),
        ({"personalisation": {}}, "Missing personalisation: url"),
        ({"phone_number": "07700 90012"}, "phone_number Not enough digits"),
        ({"phone_number": "+1 202 555 0100"}, "phone_number Not a UK mobile number"),
        ({"colour": "red"}, "Additional properties are not allowed ('colour' was unexpected)"),
    ],
)
def test_the_stand_in_checks_the_body(notify_service, change, message):
    body = {"phone_number": "07700900123", "template_id": notify_service.template_id, "personalisation": {"url": "x"}}
    token = _token(notify_service.secret, iss=notify_service.service_id)
    response = requests.post(
        notify_service.base_url + SMS_PATH,
        json=body | change,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == message
    assert notify_service.received == []
