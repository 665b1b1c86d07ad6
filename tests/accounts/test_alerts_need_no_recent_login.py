"""An alert never depends on the firefighter having logged in recently: push goes to the phone's
subscription, which belongs to the person, not to a session. A phone whose login has expired
still gets the alert; the notification opens the app at the alert, the app's first request
answers 401, and the app shows its login screen and returns to the alert after logging in
(pwa/app/main.js: sessionExpired, RETURN_KEY). Only a deliberate end removes the subscription:
logging out on that phone, or a coordinator's "Sign out everywhere" for a lost phone
(docs/delivery.md, "Whose phone it is")."""

import datetime

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.utils import timezone

from backend.accounts import actions
from backend.accounts.models import UserSession
from backend.delivery.models import Delivery, DeliveryState
from backend.delivery.sending import DeliveryPass
from backend.delivery.subscriptions import subscribe_device
from backend.delivery.transports.webpush import WebPushTransport
from backend.dispatch.actions import dispatch_incident

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def allow_the_stand_in(settings):
    """The stand-in push service is plain http on 127.0.0.1 (as in tests/delivery/conftest.py)."""
    settings.PUSH_SERVICE_ALLOWLIST = [*settings.PUSH_SERVICE_ALLOWLIST, "http://127.0.0.1:*"]


@pytest.fixture
async def worker():
    transport = WebPushTransport()
    async with transport:
        yield DeliveryPass({"webpush": transport}, name="test-worker")


@sync_to_async
def phone_of(responder, subscription) -> Client:
    """Alice's phone: logged in, subscribed to push, as the app leaves it."""
    phone = Client()
    phone.force_login(responder.user)
    subscribe_device(
        actor=responder.user,
        endpoint=subscription["endpoint"],
        p256dh=subscription["keys"]["p256dh"],
        auth=subscription["keys"]["auth"],
        label="Alice's phone",
    )
    return phone


@sync_to_async
def end_logins(how: str, responder, coordinator) -> None:
    if how == "revoked":
        actions.sign_out_everywhere(actor=coordinator, user_ids=[responder.user.pk])
    else:
        UserSession.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))


async def test_a_phone_whose_login_has_expired_still_gets_the_alert(push_service, worker, incident, carol, alice):
    subscription = push_service.subscribe()
    phone = await phone_of(alice, subscription)
    await end_logins("expired", alice, carol)
    assert await sync_to_async(lambda: phone.get("/api/v1/me/").status_code)() in (401, 403)

    [alert] = await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    await worker.run_once()
    await worker.drain()

    [push] = push_service.received
    assert push.endpoint == subscription["endpoint"]
    assert push.json["type"] == "alert.created" and push.json["alert_id"] == alert.pk
    assert push.json["notification"]["title"] == "Cardiac arrest alert"
    # Opens the app at the alert: the app asks for a login first, then shows it.
    assert push.json["notification"]["navigate"].endswith(f"/#/alerts/{alert.pk}")
    deliveries = await sync_to_async(list)(Delivery.objects.values_list("state", flat=True))
    assert deliveries == [DeliveryState.SENT]


async def test_a_phone_signed_out_everywhere_gets_no_more_alerts(push_service, worker, incident, carol, alice):
    """A lost phone: the coordinator's "Sign out everywhere" removes its subscription too."""
    subscription = push_service.subscribe()
    await phone_of(alice, subscription)
    await end_logins("revoked", alice, carol)

    await sync_to_async(dispatch_incident)(actor=carol, incident_id=incident.pk)
    await worker.run_once()
    await worker.drain()

    assert push_service.received == []
    assert await sync_to_async(Delivery.objects.filter(channel="webpush").count)() == 0
