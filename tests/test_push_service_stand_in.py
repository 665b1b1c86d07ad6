"""The push service stand-in is a real push service: pywebpush, as the product uses it, talks to it over
HTTP, its VAPID checks refuse what a real service refuses, and its misbehaviour is what clients meet."""

import asyncio
import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid01, Vapid02
from py_vapid.jwt import sign as sign_jwt
from pywebpush import WebPushException, webpush, webpush_async

from tests.support import push_service as stand_in
from tests.support.push_service import PushServiceStandIn

# The fixture, as a conftest.py would import it. (Imported by name, ruff would call each test's
# push_service parameter a redefinition, F811.)
push_service = stand_in.push_service

SUBJECT = "mailto:ops@fire.example.org"
PAYLOAD = {"type": "alert.created", "alert_id": 7, "incident_id": 42, "text": "Arrêt cardiaque — 2 km"}


def new_vapid() -> Vapid02:
    vapid = Vapid02()
    vapid.generate_keys()
    return vapid


def public_key_b64(vapid: Vapid01) -> str:
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def vapid() -> Vapid02:
    return new_vapid()


def send(subscription, vapid, *, data=PAYLOAD, claims=None, **kwargs):
    """Sends as the product does: a fresh claims dict each time (pywebpush writes aud and exp into it)."""
    kwargs.setdefault("ttl", 60)
    kwargs.setdefault("timeout", 5)
    return webpush(
        subscription,
        data=json.dumps(data) if not isinstance(data, str) else data,
        vapid_private_key=vapid,
        vapid_claims=dict(claims or {"sub": SUBJECT}),
        **kwargs,
    )


def send_with_authorization(subscription, authorization: str, **kwargs):
    """pywebpush encrypts and sends; the Authorization header is ours (no vapid_claims: pywebpush signs nothing)."""
    return webpush(subscription, data=json.dumps(PAYLOAD), headers={"Authorization": authorization}, ttl=60, timeout=5)


def refused(call) -> WebPushException:
    with pytest.raises(WebPushException) as caught:
        call()
    return caught.value


# --- it is a push service ------------------------------------------------------------------------


def test_pywebpush_payload_arrives_decrypted_with_its_headers(push_service, vapid):
    subscription = push_service.subscribe()
    assert subscription["endpoint"].startswith(f"http://127.0.0.1:{push_service.port}/push/")
    assert len(base64.urlsafe_b64decode(subscription["keys"]["p256dh"] + "=")) == 65
    assert len(base64.urlsafe_b64decode(subscription["keys"]["auth"] + "==")) == 16
    assert "=" not in subscription["keys"]["p256dh"] + subscription["keys"]["auth"]

    response = send(subscription, vapid, ttl=3600, headers={"Urgency": "high", "Topic": "incident-42"})

    assert response.status_code == 201
    assert response.headers["Location"].startswith(push_service.origin + "/m/")
    [push] = push_service.wait_for(1, timeout=2)
    assert push.payload == json.dumps(PAYLOAD).encode()
    assert push.json == PAYLOAD
    assert (push.ttl, push.urgency, push.topic) == (3600, "high", "incident-42")
    assert push.endpoint == subscription["endpoint"]
    assert push.vapid_claims["aud"] == push_service.origin
    assert push.vapid_claims["sub"] == SUBJECT
    assert push.vapid_public_key == public_key_b64(vapid)
    assert push_service.received_for(subscription) == [push]
    assert push_service.rejections == []


def test_defaults_and_a_payload_that_is_not_json(push_service, vapid):
    subscription = push_service.subscribe()
    send(subscription, vapid, data="plain text", ttl=0)
    [push] = push_service.wait_for(1)
    assert (push.text, push.json, push.is_json) == ("plain text", None, False)
    assert (push.ttl, push.urgency, push.topic) == (0, "normal", None)


def test_each_subscription_has_its_own_keys(push_service, vapid):
    first, second = push_service.subscribe(), push_service.subscribe()
    assert first["endpoint"] != second["endpoint"]
    assert first["keys"]["p256dh"] != second["keys"]["p256dh"]
    assert first["keys"]["auth"] != second["keys"]["auth"]
    # Encrypted for the second subscription's keys, sent to the first's endpoint: cannot be decrypted.
    crossed = {"endpoint": first["endpoint"], "keys": second["keys"]}
    assert refused(lambda: send(crossed, vapid)).status_code == 400
    assert "decrypt" in push_service.rejections[0].reason
    send(second, vapid, data={"n": 2})
    assert push_service.wait_for(1, endpoint=second)[0].json == {"n": 2}
    assert push_service.received_for(first) == []


@pytest.mark.parametrize(
    "private_key_form",
    ["Vapid object", "base64url raw 32-byte key", "base64url DER", "PEM file path"],
)
def test_the_vapid_private_key_forms_pywebpush_accepts(push_service, vapid, tmp_path, private_key_form):
    number = vapid.private_key.private_numbers().private_value
    der = vapid.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file = tmp_path / "vapid.pem"
    key_file.write_bytes(vapid.private_pem())
    key = {
        "Vapid object": vapid,
        "base64url raw 32-byte key": base64.urlsafe_b64encode(number.to_bytes(32, "big")).rstrip(b"=").decode(),
        "base64url DER": base64.urlsafe_b64encode(der).rstrip(b"=").decode(),
        "PEM file path": str(key_file),
    }[private_key_form]
    send(push_service.subscribe(), key)
    assert push_service.wait_for(1)[0].vapid_public_key == public_key_b64(vapid)


def test_a_pem_string_is_not_a_key_pywebpush_understands(push_service, vapid):
    """pywebpush passes a str that is not a file to Vapid.from_string(), which reads raw or DER only."""
    with pytest.raises(ValueError, match="deserialize"):
        send(push_service.subscribe(), vapid.private_pem().decode())


def test_async_sends_share_one_aiohttp_session(push_service, vapid):
    subscriptions = [push_service.subscribe() for _ in range(20)]

    async def send_all():
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            return await asyncio.gather(
                *(
                    webpush_async(
                        subscription,
                        data=json.dumps({"n": n}),
                        vapid_private_key=vapid,
                        vapid_claims={"sub": SUBJECT},
                        ttl=60,
                        headers={"Urgency": "high"},
                        timeout=aiohttp.ClientTimeout(total=5),
                        aiohttp_session=session,
                    )
                    for n, subscription in enumerate(subscriptions)
                )
            )

    responses = asyncio.run(send_all())
    assert [response.status for response in responses] == [201] * 20
    assert sorted(push.json["n"] for push in push_service.wait_for(20)) == list(range(20))


# --- VAPID (RFC 8292) ----------------------------------------------------------------------------


def valid_claims(service: PushServiceStandIn, **changes) -> dict:
    return {"aud": service.origin, "exp": int(time.time()) + 3600, "sub": SUBJECT, **changes}


def vapid_authorization(claims: dict, signed_by: Vapid01, k_of: Vapid01 | None = None) -> str:
    return f"vapid t={sign_jwt(claims, signed_by.private_key)}, k={public_key_b64(k_of or signed_by)}"


def test_a_hand_made_vapid_header_is_accepted(push_service, vapid):
    """The control for the rejections below: the same construction, nothing wrong with it."""
    subscription = push_service.subscribe()
    send_with_authorization(subscription, vapid_authorization(valid_claims(push_service), vapid))
    assert push_service.wait_for(1)[0].vapid_claims["aud"] == push_service.origin


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("claims signed by another key than k", 403, "signature"),
        ("aud of another origin", 403, "aud"),
        ("exp 25 hours ahead", 403, "24 hours"),
        ("exp in the past", 403, "expired"),
        ("sub that is neither mailto: nor https:", 403, "sub"),
        ("no sub", 403, "sub"),
        ("no Authorization header", 401, "missing Authorization"),
        ("draft-01 WebPush scheme", 401, "scheme"),
        ("k that is not a P-256 key", 401, "k is not"),
    ],
)
def test_bad_vapid_is_refused(push_service, vapid, case, status, reason):
    subscription = push_service.subscribe()
    origin = push_service.origin
    in_an_hour = int(time.time()) + 3600
    if case == "claims signed by another key than k":
        call = lambda: send_with_authorization(  # noqa: E731
            subscription, vapid_authorization(valid_claims(push_service), signed_by=new_vapid(), k_of=vapid)
        )
    elif case == "aud of another origin":
        call = lambda: send(subscription, vapid, claims={"sub": SUBJECT, "aud": "http://127.0.0.1:1"})  # noqa: E731
    elif case == "exp 25 hours ahead":
        # pywebpush keeps an exp that is in the future, and py_vapid does not check it is within 24 h.
        exp = int(time.time()) + 25 * 3600
        call = lambda: send(subscription, vapid, claims={"sub": SUBJECT, "exp": exp})  # noqa: E731
    elif case == "exp in the past":
        claims = {"aud": origin, "exp": int(time.time()) - 10, "sub": SUBJECT}
        call = lambda: send_with_authorization(subscription, vapid_authorization(claims, vapid))  # noqa: E731
    elif case == "sub that is neither mailto: nor https:":
        # py_vapid refuses to sign such a sub unless told not to be strict.
        lax = Vapid02(private_key=vapid.private_key, conf={"no-strict": True})
        call = lambda: send(subscription, lax, claims={"sub": "ops@fire.example.org"})  # noqa: E731
    elif case == "no sub":
        claims = {"aud": origin, "exp": in_an_hour}
        call = lambda: send_with_authorization(subscription, vapid_authorization(claims, vapid))  # noqa: E731
    elif case == "no Authorization header":
        call = lambda: webpush(subscription, data="{}", ttl=60, timeout=5)  # noqa: E731
    elif case == "draft-01 WebPush scheme":
        old = Vapid01(private_key=vapid.private_key)
        call = lambda: send(subscription, old)  # noqa: E731
    elif case == "k that is not a P-256 key":
        token = sign_jwt(valid_claims(push_service), vapid.private_key)
        call = lambda: send_with_authorization(subscription, f"vapid t={token}, k=AAAA")  # noqa: E731

    error = refused(call)

    assert error.status_code == status
    assert push_service.received == []
    [rejection] = push_service.rejections
    assert rejection.status == status
    assert reason in rejection.reason
    assert rejection.endpoint == subscription["endpoint"]


def test_a_subscription_made_with_an_application_server_key_takes_only_that_key(push_service, vapid):
    subscription = push_service.subscribe(application_server_key=public_key_b64(vapid))
    assert refused(lambda: send(subscription, new_vapid())).status_code == 403
    assert "applicationServerKey" in push_service.rejections[0].reason
    send(subscription, vapid)
    assert len(push_service.wait_for(1)) == 1


# --- RFC 8030 headers and limits -----------------------------------------------------------------


def test_topic_urgency_ttl_encoding_and_size_are_checked(push_service, vapid):
    subscription = push_service.subscribe()
    cases = [
        ({"headers": {"Topic": "incident 42!"}}, 400, "Topic"),
        ({"headers": {"Topic": "x" * 33}}, 400, "Topic"),
        ({"headers": {"Urgency": "urgent"}}, 400, "Urgency"),
        ({"content_encoding": "aesgcm"}, 400, "Content-Encoding"),
        ({"data": "x" * 5000}, 413, "payload"),
    ]
    for kwargs, status, reason in cases:
        assert refused(lambda kwargs=kwargs: send(subscription, vapid, **kwargs)).status_code == status
        assert reason in push_service.rejections[-1].reason
    send(subscription, vapid, headers={"Topic": "A-z_09" + "x" * 26})  # 32 characters is allowed
    assert push_service.wait_for(1)[0].topic == "A-z_09" + "x" * 26


def test_a_request_without_ttl_is_refused(push_service, vapid):
    subscription = push_service.subscribe()
    authorization = vapid_authorization(valid_claims(push_service), vapid)
    response = requests.post(subscription["endpoint"], headers={"Authorization": authorization}, timeout=5)
    assert response.status_code == 400
    assert push_service.rejections[0].reason == "missing TTL header"


def test_unknown_and_unsubscribed_endpoints(push_service, vapid):
    subscription = push_service.subscribe()
    unknown = {**subscription, "endpoint": push_service.origin + "/push/no-such-subscription"}
    assert refused(lambda: send(unknown, vapid)).status_code == 404
    push_service.unsubscribe(subscription)
    assert refused(lambda: send(subscription, vapid)).status_code == 410


# --- telling it how to answer --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retry_after"), [(404, None), (410, None), (413, None), (429, "30"), (500, None), (503, "120")]
)
def test_a_configured_answer_is_given_then_used_up(push_service, vapid, status, retry_after):
    subscription = push_service.subscribe()
    push_service.respond_with(status, times=1, retry_after=retry_after)

    error = refused(lambda: send(subscription, vapid))

    assert error.status_code == status
    assert error.retry_after == retry_after
    assert push_service.received == []
    assert push_service.rejections == []  # a canned answer is not a rejection
    assert send(subscription, vapid).status_code == 201
    assert [(a.outcome, a.status) for a in push_service.attempts] == [("canned", status), ("accepted", 201)]


def test_answers_per_subscription_queue_and_override_the_global_ones(push_service, vapid):
    gone, fine = push_service.subscribe(), push_service.subscribe()
    push_service.respond_with(410, endpoint=gone)
    assert refused(lambda: send(gone, vapid)).status_code == 410
    assert refused(lambda: send(gone, vapid)).status_code == 410  # until further notice
    assert send(fine, vapid).status_code == 201

    push_service.respond_with(500)  # global, until further notice
    push_service.respond_with(429, times=1, retry_after=1, endpoint=fine)
    push_service.respond_with(503, times=1, endpoint=fine["endpoint"])
    assert [refused(lambda: send(fine, vapid)).status_code for _ in range(3)] == [429, 503, 500]
    push_service.respond_with(201, endpoint=fine)  # the subscription's own answer beats the global one
    assert send(fine, vapid).status_code == 201

    push_service.reset()
    assert send(gone, vapid).status_code == 201
    assert len(push_service.received) == 1


def test_a_rejection_does_not_use_up_a_configured_answer(push_service, vapid):
    subscription = push_service.subscribe()
    push_service.respond_with(429, times=1, retry_after=5)
    assert refused(lambda: send(subscription, vapid, headers={"Topic": "not valid!"})).status_code == 400
    assert refused(lambda: send(subscription, vapid)).status_code == 429


def test_a_redirect_can_be_configured_and_pywebpush_follows_it(push_service, vapid):
    subscription = push_service.subscribe()
    push_service.respond_with(308, times=1, headers={"Location": subscription["endpoint"]})
    response = send(subscription, vapid)
    assert [r.status_code for r in response.history] == [308]  # followed, silently
    assert response.status_code == 201
    assert [(a.outcome, a.status) for a in push_service.attempts] == [("canned", 308), ("accepted", 201)]


def test_a_delay_holds_every_answer_but_does_not_serialise_them(push_service, vapid):
    push_service.delay(0.05)
    subscriptions = [push_service.subscribe() for _ in range(200)]

    started = time.monotonic()
    send(subscriptions[0], vapid)
    assert time.monotonic() - started >= 0.05

    push_service.delay(0.5)  # long enough that concurrent senders overlap even on a loaded machine
    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(lambda subscription: send(subscription, vapid).status_code, subscriptions[:50]))

    assert statuses == [201] * 50
    # Not serialised: many answers were held at the same moment (counted, not timed).
    assert push_service.most_delayed_at_once >= 10, push_service.most_delayed_at_once
    assert len(push_service.wait_for(51)) == 51


def test_hang_makes_a_client_time_out_and_reset_lets_go(push_service, vapid):
    subscription = push_service.subscribe()
    push_service.hang()

    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        send(subscription, vapid, timeout=0.5)
    assert 0.5 <= time.monotonic() - started < 2

    push_service.reset()
    assert send(subscription, vapid).status_code == 201


def test_hang_times_out_the_async_client_too(push_service, vapid):
    subscription = push_service.subscribe()
    push_service.hang(endpoint=subscription, times=1)

    async def attempt():
        async with aiohttp.ClientSession() as session:
            return await webpush_async(
                subscription,
                data="{}",
                vapid_private_key=vapid,
                vapid_claims={"sub": SUBJECT},
                ttl=60,
                timeout=aiohttp.ClientTimeout(total=0.5),
                aiohttp_session=session,
            )

    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(attempt())
    assert asyncio.run(attempt()).status == 201  # times=1: the next one is answered


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("not-http", requests.exceptions.ConnectionError),
        ("truncated", requests.exceptions.ChunkedEncodingError),
        ("close", requests.exceptions.ConnectionError),
    ],
)
def test_garbage_is_a_transport_error_not_a_webpush_exception(push_service, vapid, kind, error):
    subscription = push_service.subscribe()
    push_service.garbage(kind, times=1)
    with pytest.raises(error):
        send(subscription, vapid)
    assert push_service.received == []
    assert send(subscription, vapid).status_code == 201


@pytest.mark.parametrize("kind", ["not-http", "truncated", "close"])
def test_garbage_is_an_aiohttp_client_error(push_service, vapid, kind):
    subscription = push_service.subscribe()
    push_service.garbage(kind)

    async def attempt():
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            await webpush_async(
                subscription, data="{}", vapid_private_key=vapid, vapid_claims={"sub": SUBJECT}, aiohttp_session=session
            )

    with pytest.raises(aiohttp.ClientError):
        asyncio.run(attempt())


# --- bookkeeping ---------------------------------------------------------------------------------


def test_wait_for_times_out(push_service):
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="0 push"):
        push_service.wait_for(1, timeout=0.1)
    assert time.monotonic() - started < 1


def test_it_stops_listening_when_stopped(vapid):
    with PushServiceStandIn() as service:
        subscription = service.subscribe()
        service.hang()
        with pytest.raises(requests.exceptions.Timeout):
            send(subscription, vapid, timeout=0.2)
    # stop() let the hanging request go instead of waiting for it, and closed the port.
    with pytest.raises(requests.exceptions.ConnectionError):
        send(subscription, vapid, timeout=1)
    service.stop()  # twice is fine


def test_each_accepted_push_is_handed_to_its_listeners_before_the_sender_has_its_answer(push_service, vapid):
    subscription = push_service.subscribe()
    handed: list = []
    answered_yet: list[bool] = []

    def listener(push):
        handed.append(push)
        answered_yet.append(False)  # the sender is still waiting: send() has not returned

    def broken(push):
        raise RuntimeError("a listener's bug")

    push_service.on_push(broken)
    remove = push_service.on_push(listener)
    push_service.respond_with(429, times=1)
    with pytest.raises(WebPushException):
        send(subscription, vapid)  # refused: not a push the browser gets
    send(subscription, vapid, data={"n": 1})
    answered_yet.append(True)

    assert [push.json for push in handed] == [{"n": 1}]
    assert handed == push_service.received_for(subscription)
    assert answered_yet == [False, True]
    remove()
    send(subscription, vapid, data={"n": 2})
    assert len(handed) == 1
