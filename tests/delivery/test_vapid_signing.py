"""The VAPID JWT is signed once per push service for its lifetime, not once per message: counted in
signatures (py_vapid's Vapid02.sign calls), never in time. The stand-in push service still checks
every push's VAPID header (signature, aud, exp, key) and decrypts its payload."""

import asyncio
import datetime
import threading

import pytest
from py_vapid import Vapid02

from backend.delivery import vapid
from backend.delivery.transports import Job
from backend.delivery.transports.webpush import WebPushTransport
from tests.support.push_service import PushServiceStandIn

SUBJECT = "mailto:signing-test@example.org"


@pytest.fixture
def signatures(monkeypatch):
    """Every VAPID signature made in the test, as the claims it signed."""
    signed = []
    original = Vapid02.sign

    def counting_sign(self, claims, crypto_key=None):
        signed.append(dict(claims))
        return original(self, claims, crypto_key)

    monkeypatch.setattr(Vapid02, "sign", counting_sign)
    return signed


class Clock:
    def __init__(self, now: float = 1_900_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_one_signature_for_many_messages_to_one_push_service(signatures):
    headers = vapid.SignedHeaders(vapid.generate(), SUBJECT)
    first = headers.for_endpoint("https://fcm.googleapis.com/fcm/send/a")
    for n in range(99):
        assert headers.for_endpoint(f"https://fcm.googleapis.com/fcm/send/{n}") == first
    assert len(signatures) == 1
    assert signatures[0]["aud"] == "https://fcm.googleapis.com" and signatures[0]["sub"] == SUBJECT


def test_a_signature_per_push_service_origin(signatures):
    headers = vapid.SignedHeaders(vapid.generate(), SUBJECT)
    endpoints = [
        "https://fcm.googleapis.com/fcm/send/a",
        "https://updates.push.services.mozilla.com/wpush/v2/b",
        "https://web.push.apple.com/c",
        "https://web.push.apple.com:8443/d",  # another port is another origin
    ]
    for _ in range(3):
        for endpoint in endpoints:
            headers.for_endpoint(endpoint)
    assert [claims["aud"] for claims in signatures] == [vapid.origin_of(e) for e in endpoints]
    assert len({headers.for_endpoint(e)["Authorization"] for e in endpoints}) == 4


def test_a_new_signature_once_the_jwt_nears_its_expiry(signatures):
    clock = Clock()
    headers = vapid.SignedHeaders(vapid.generate(), SUBJECT, lifetime=3600, margin=600, clock=clock)
    endpoint = "https://fcm.googleapis.com/fcm/send/a"
    first = headers.for_endpoint(endpoint)
    assert signatures[0]["exp"] == int(clock.now) + 3600
    clock.now += 3600 - 600 - 1  # still more than the margin left
    assert headers.for_endpoint(endpoint) == first and len(signatures) == 1
    clock.now += 1  # the margin reached: signed afresh, with a later exp
    second = headers.for_endpoint(endpoint)
    assert second != first and len(signatures) == 2
    assert signatures[1]["exp"] == int(clock.now) + 3600


def test_the_margin_must_be_shorter_than_the_lifetime():
    with pytest.raises(ValueError, match="margin"):
        vapid.SignedHeaders(vapid.generate(), SUBJECT, lifetime=600, margin=600)


def test_threads_asking_at_once_share_one_signature(signatures):
    headers = vapid.SignedHeaders(vapid.generate(), SUBJECT)
    start = threading.Barrier(8)
    seen = []

    def ask():
        start.wait()
        for n in range(50):
            seen.append(headers.for_endpoint(f"https://fcm.googleapis.com/fcm/send/{n}")["Authorization"])

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(signatures) == 1 and len(set(seen)) == 1 and len(seen) == 400


def test_one_shared_cache_per_key_and_subject():
    key, other_key = vapid.generate(), vapid.generate()
    assert vapid.signed_headers(key, SUBJECT) is vapid.signed_headers(key, SUBJECT)
    assert vapid.signed_headers(key, SUBJECT) is not vapid.signed_headers(other_key, SUBJECT)
    assert vapid.signed_headers(key, SUBJECT) is not vapid.signed_headers(key, "mailto:other@example.org")


def _job(number: int, subscription: dict) -> Job:
    return Job(
        delivery_id=number,
        channel="webpush",
        attempts=1,
        round=1,
        alert_id=number,
        incident_id=7,
        alerted_at=datetime.datetime.now(datetime.UTC),
        endpoint=subscription["endpoint"],
        p256dh=subscription["keys"]["p256dh"],
        auth=subscription["keys"]["auth"],
        receipt_token="t" * 43,
    )


async def test_the_transport_signs_once_per_push_service_and_every_push_verifies_and_decrypts(signatures, push_service):
    """Two push services (two origins), twenty messages each: two signatures, and each service
    accepts every message (it verifies the JWT with the subscription's key and decrypts)."""
    key = vapid.generate()
    public_key = vapid.public_key_b64(key)
    with PushServiceStandIn() as other_service:
        subscriptions = [push_service.subscribe(application_server_key=public_key) for _ in range(20)] + [
            other_service.subscribe(application_server_key=public_key) for _ in range(20)
        ]
        async with WebPushTransport(private_key=vapid.private_key_b64(key), subject=SUBJECT) as transport:
            statuses = await asyncio.gather(*(transport.send(_job(n, s)) for n, s in enumerate(subscriptions)))
        other_received, other_rejections = other_service.received, other_service.rejections
    assert statuses == [201] * 40
    assert sorted(claims["aud"] for claims in signatures) == sorted([push_service.origin, other_service.origin])
    assert not push_service.rejections and not other_rejections
    for service_received in (push_service.received, other_received):
        assert len(service_received) == 20
        assert {push.json["type"] for push in service_received} == {"alert.created"}
        assert {push.vapid_claims["sub"] for push in service_received} == {SUBJECT}
