"""The phone's receipt: with the app closed and nobody logged in, the real service worker shows an
alert push and tells the server so, with the token the push carried; a tap says "opened".

The push is the one the server's Web Push transport builds for a delivery row made on the server's
database (a worker's claim: a fresh token, only its hash kept), delivered through the DevTools
protocol (ServiceWorker.deliverPushMessage) from a blank page, the app's own page closed."""

import json
import time

from tests.e2e.test_push_notification import NEAR_KINGS_LYNN, app  # noqa: F401 (a fixture)

# The worker's own notificationclick listener, as in test_push_notification.CLICK; a script-made
# event may not open a window here (no app window to focus), so what it waits for may fail: the
# receipt is sent all the same.
TAP = """async (tag) => {
    const [notification] = await self.registration.getNotifications({ tag });
    const event = new NotificationEvent("notificationclick", { notification });
    const extended = [];
    Object.defineProperty(event, "waitUntil", { value: (promise) => extended.push(promise) });
    self.dispatchEvent(event);
    await Promise.allSettled(extended);
    return extended.length;
}"""

# A delivery of the alert as a worker would have claimed and sent it, and the payload it sent.
SENT_PUSH = """
import json
from django.utils import timezone
from backend.delivery import receipts
from backend.delivery.models import Channel, Delivery, DeliveryState
from backend.delivery.transports import Job
from backend.delivery.transports.webpush import push_payload
from backend.dispatch.models import Alert
alert = Alert.objects.select_related("incident").get(pk={alert_id})
now = timezone.now()
delivery = Delivery.objects.create(alert=alert, channel=Channel.WEBPUSH, round=90, state=DeliveryState.SENT,
                                   attempts=1, next_attempt_at=now, finished_at=now, target="e2e")
token = receipts.token_for(delivery.pk, delivery.attempts)
job = Job(delivery_id=delivery.pk, channel="webpush", attempts=1, round=1, alert_id=alert.pk,
          incident_id=alert.incident_id, alerted_at=alert.alerted_at, receipt_token=token)
print(json.dumps({{"delivery_id": delivery.pk, "payload": push_payload(job)}}))
"""

RECEIPT_TIMES = """
from backend.delivery.models import Delivery
d = Delivery.objects.get(pk={delivery_id})
print(d.shown_at is not None, d.opened_at is not None)
"""


def sent_push(server, alert_id: int) -> tuple[int, dict]:
    output = server.manage("shell", "-c", SENT_PUSH.format(alert_id=int(alert_id)))
    sent = json.loads(output.strip().splitlines()[-1])
    return sent["delivery_id"], sent["payload"]


def receipt_times(server, delivery_id: int) -> tuple[bool, bool]:
    output = server.manage("shell", "-c", RECEIPT_TIMES.format(delivery_id=int(delivery_id)))
    shown, opened = output.strip().splitlines()[-1].split()
    return shown == "True", opened == "True"


def wait_for_receipt(server, delivery_id: int, *, opened: bool = False, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown_now, opened_now = receipt_times(server, delivery_id)
        if shown_now and (opened_now or not opened):
            return
        time.sleep(0.3)
    raise AssertionError(f"no {'opened' if opened else 'shown'} receipt for delivery {delivery_id} within {timeout} s")


def test_the_receipt_arrives_with_the_app_closed_and_nobody_logged_in(app, server, dispatcher):  # noqa: F811
    page, _, registration_id = app
    incident = dispatcher.dispatch("E2E-RECEIPT-1", *NEAR_KINGS_LYNN, "4 Receipt Lane, King's Lynn")
    delivery_id, payload = sent_push(server, incident["alerts"][0]["id"])
    assert len(payload["receipt"]) == 43 and payload["web_push"] == 8030 and payload["mutable"] is True
    assert receipt_times(server, delivery_id) == (False, False)

    # The app closed, and no session left in the browser: the worker alone must do it.
    context = page.context
    blank = context.new_page()
    cdp = context.new_cdp_session(blank)
    cdp.send("ServiceWorker.enable")
    page.close()
    context.clear_cookies()
    assert [p for p in context.pages if p.url.startswith(server.url)] == []

    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": server.url, "registrationId": registration_id, "data": json.dumps(payload)},
    )

    wait_for_receipt(server, delivery_id)
    [worker] = context.service_workers
    shown = worker.evaluate("async () => (await self.registration.getNotifications()).map((n) => n.title)")
    assert shown == ["Cardiac arrest alert"]
    # The tap says "opened" with the same token.
    assert worker.evaluate(TAP, f"incident-{incident['id']}") == 1
    wait_for_receipt(server, delivery_id, opened=True)
