"""Receipts from the phone: each alert push carries a single-use token (only its hash is stored),
and the service worker posts it back with no session when it shows the notification (shown) and
when it is tapped (opened). Replays, forged and foreign tokens are refused; the endpoint is
rate-limited; the funnel is kept per device."""

import secrets

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from backend.delivery.models import Channel, Delivery, Kind
from backend.delivery.receipts import funnels_of
from backend.delivery.sending import claim_due, record_sent_batch
from backend.delivery.subscriptions import subscribe_device
from backend.dispatch.actions import dispatch_incident, respond_to_alert
from tests.api.helpers import assert_error
from tests.conftest import browser_subscription

RECEIPTS = "/api/v1/push-receipts/"


@pytest.fixture(autouse=True)
def fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


def subscribe(responder, name):
    endpoint = f"https://fcm.googleapis.com/fcm/send/{responder.user.username}-{name}"
    subscribe_device(actor=responder.user, endpoint=endpoint, label=name, **browser_subscription(endpoint)["keys"])


@pytest.fixture
def pushed(incident, carol, alice, bob):
    """Alice (phone and tablet) and Bob (phone) alerted; a worker has claimed and sent every push.
    Returns {(username, device label): (alert id, the token that push carried)}."""
    subscribe(alice, "phone")
    subscribe(alice, "tablet")
    subscribe(bob, "phone")
    dispatch_incident(actor=carol, incident_id=incident.pk)
    jobs = claim_due(worker="test-worker", limit=10)
    record_sent_batch([(job, 201) for job in jobs], worker="test-worker")
    tokens = {}
    for job in jobs:
        delivery = Delivery.objects.select_related("device__user").get(pk=job.delivery_id)
        tokens[(delivery.device.user.username, delivery.device.label)] = (job.alert_id, job.receipt_token)
    return tokens


def post(body, client=None, **headers):
    return (client or APIClient()).post(RECEIPTS, body, format="json", **headers)


def test_each_alert_push_carries_its_own_token_and_nothing_of_it_is_stored(pushed):
    assert len(pushed) == 3
    tokens = [token for _, token in pushed.values()]
    assert len(set(tokens)) == 3 and all(len(token) == 43 for token in tokens)  # 32 bytes of HMAC
    for alert_id, token in pushed.values():
        for row in Delivery.objects.filter(alert_id=alert_id).values():
            stored = " ".join(str(value) for value in row.values())
            assert token not in stored


def test_a_token_cannot_be_made_without_the_servers_secret_key(pushed):
    """The token is an HMAC keyed by SECRET_KEY: the same delivery and attempt under another key
    give another token, which the server refuses."""
    import base64

    from django.utils.crypto import salted_hmac

    from backend.delivery import receipts

    alert_id, token = pushed[("alice", "phone")]
    phone = Delivery.objects.get(alert_id=alert_id, device__label="phone")
    assert receipts.token_for(phone.pk, phone.attempts) == token
    digest = salted_hmac(receipts.HMAC_SALT, f"{phone.pk}:{phone.attempts}", secret="not-ours" * 8, algorithm="sha256")
    forged = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")
    assert forged != token
    assert post({"alert_id": alert_id, "token": forged, "event": "shown"}).status_code == 403


def test_a_receipt_is_accepted_once_with_no_session_and_records_when_it_was_shown(pushed):
    alert_id, token = pushed[("alice", "phone")]

    response = post({"alert_id": alert_id, "token": token, "event": "shown"})

    assert response.status_code == 204, response.content
    phone = Delivery.objects.get(alert_id=alert_id, device__label="phone")
    assert phone.shown_at is not None and phone.opened_at is None
    assert Delivery.objects.get(alert_id=alert_id, device__label="tablet").shown_at is None


def test_a_replayed_receipt_is_refused(pushed):
    alert_id, token = pushed[("alice", "phone")]
    assert post({"alert_id": alert_id, "token": token}).status_code == 204
    shown_at = Delivery.objects.get(alert_id=alert_id, device__label="phone").shown_at

    replay = post({"alert_id": alert_id, "token": token})

    assert_error(replay, 409, "receipt_already_recorded")
    assert "already recorded" in replay.json()["error"]["message"]
    assert Delivery.objects.get(alert_id=alert_id, device__label="phone").shown_at == shown_at


def test_a_forged_token_is_refused_and_changes_nothing(pushed):
    alert_id, _ = pushed[("alice", "phone")]

    forged = post({"alert_id": alert_id, "token": secrets.token_urlsafe(32)})

    assert_error(forged, 403, "invalid_receipt_token")
    assert not Delivery.objects.filter(shown_at__isnull=False).exists()


def test_another_alerts_token_is_refused(pushed):
    alices_alert, _ = pushed[("alice", "phone")]
    _, bobs_token = pushed[("bob", "phone")]

    foreign = post({"alert_id": alices_alert, "token": bobs_token})

    assert_error(foreign, 403, "invalid_receipt_token")
    assert not Delivery.objects.filter(shown_at__isnull=False).exists()


@pytest.mark.parametrize(
    "body",
    [
        {"alert_id": 1, "token": "short"},
        {"alert_id": 1, "token": "a" * 42 + "!"},
        {"alert_id": "1", "token": "a" * 43},
        {"alert_id": 1, "token": "a" * 43, "event": "answered"},
        {"token": "a" * 43},
    ],
)
def test_a_malformed_receipt_is_refused_field_by_field(db, body):
    assert_error(post(body), 400, "invalid")


def test_a_tap_records_opened_once_and_counts_as_shown(pushed):
    alert_id, token = pushed[("alice", "tablet")]

    assert post({"alert_id": alert_id, "token": token, "event": "opened"}).status_code == 204

    tablet = Delivery.objects.get(alert_id=alert_id, device__label="tablet")
    assert tablet.opened_at is not None and tablet.shown_at == tablet.opened_at
    assert_error(post({"alert_id": alert_id, "token": token, "event": "opened"}), 409, "receipt_already_recorded")
    assert_error(post({"alert_id": alert_id, "token": token, "event": "shown"}), 409, "receipt_already_recorded")


def test_a_session_is_neither_needed_nor_used(pushed, alice):
    """A logged-in browser's cookie changes nothing: no CSRF token is asked for, none is checked."""
    alert_id, token = pushed[("alice", "phone")]
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice.user)
    assert post({"alert_id": alert_id, "token": token}, client).status_code == 204


def test_a_receipt_from_another_sites_page_is_refused(pushed):
    alert_id, token = pushed[("alice", "phone")]

    response = post({"alert_id": alert_id, "token": token}, HTTP_ORIGIN="https://evil.example")

    assert_error(response, 403, "cross_origin")
    assert not Delivery.objects.filter(shown_at__isnull=False).exists()
    # The app's own origin is accepted.
    assert post({"alert_id": alert_id, "token": token}, HTTP_ORIGIN="http://testserver").status_code == 204


def test_receipts_are_rate_limited_per_address(pushed, settings):
    settings.PUSH_RECEIPT_RATE_PER_MINUTE = 3
    alert_id, token = pushed[("alice", "phone")]
    for _ in range(3):
        assert post({"alert_id": alert_id, "token": secrets.token_urlsafe(32)}).status_code == 403

    limited = post({"alert_id": alert_id, "token": token})

    assert_error(limited, 429, "throttled")
    assert int(limited["Retry-After"]) > 0
    assert Delivery.objects.get(alert_id=alert_id, device__label="phone").shown_at is None
    # Another address has its own allowance; a forwarded-for header does not buy one.
    assert post({"alert_id": alert_id, "token": token}, HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429
    assert post({"alert_id": alert_id, "token": token}, REMOTE_ADDR="10.1.2.3").status_code == 204


def test_a_retried_push_carries_a_new_token_and_the_old_one_no_longer_counts(incident, carol, alice):
    subscribe(alice, "phone")
    dispatch_incident(actor=carol, incident_id=incident.pk)
    [first] = claim_due(worker="dead-worker", limit=10)
    Delivery.objects.filter(pk=first.delivery_id).update(lease_expires_at="2000-01-01T00:00:00Z")

    [again] = claim_due(worker="test-worker", limit=10)

    assert again.delivery_id == first.delivery_id and again.receipt_token != first.receipt_token
    assert_error(post({"alert_id": first.alert_id, "token": first.receipt_token}), 403, "invalid_receipt_token")
    assert post({"alert_id": again.alert_id, "token": again.receipt_token}).status_code == 204


def test_a_stand_down_push_and_a_text_carry_no_token(incident, carol, alice, settings):
    subscribe(alice, "phone")
    alice.phone_number = "+447700900123"
    alice.save()
    [alert] = dispatch_incident(actor=carol, incident_id=incident.pk)
    from backend.delivery.outbox import enqueue_pushes, enqueue_sms

    Delivery.objects.all().delete()
    enqueue_sms([alert], now=alert.alerted_at)
    enqueue_pushes([alert], now=alert.alerted_at, kind=Kind.STAND_DOWN)
    jobs = claim_due(worker="test-worker", limit=10)
    assert {(job.channel, job.kind) for job in jobs} == {(Channel.SMS, Kind.ALERT), (Channel.WEBPUSH, Kind.STAND_DOWN)}
    assert all(job.receipt_token == "" for job in jobs)


def test_the_funnel_per_device_sent_shown_opened_and_the_answer(pushed, alice):
    alert_id, phone_token = pushed[("alice", "phone")]
    assert post({"alert_id": alert_id, "token": phone_token, "event": "shown"}).status_code == 204
    assert post({"alert_id": alert_id, "token": phone_token, "event": "opened"}).status_code == 204
    respond_to_alert(actor=alice.user, alert_id=alert_id, response="accept")

    devices = {funnel.label: funnel for funnel in funnels_of([alert_id])[alert_id]}

    assert set(devices) == {"phone", "tablet"}
    phone, tablet = devices["phone"], devices["tablet"]
    assert phone.sent_at is not None and phone.shown_at is not None and phone.opened_at is not None
    assert phone.sent_at <= phone.shown_at <= phone.opened_at
    assert tablet.sent_at is not None and tablet.shown_at is None and tablet.opened_at is None
    # Answered is the alert's own.
    assert Delivery.objects.filter(alert_id=alert_id).first().alert.accepted_at is not None
