"""The readiness API: "Test my alerts" (POST /api/v1/push-tests/, GET its result), the app's word on
its phone (PUT /api/v1/push-device-state/), the test's receipt (POST /api/v1/push-receipts/ with
check_id), and the on-call answer's readiness. Own device only, fields named, rate-limited; the
receipt refuses forged, replayed and foreign tokens for tests as it does for alerts."""

import datetime
import secrets

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from backend.delivery.models import CheckFailure, CheckResult, Delivery, DeviceCheck, Kind, PushDevice
from backend.delivery.sending import claim_due, record_sent_batch
from backend.delivery.subscriptions import subscribe_device
from backend.dispatch.actions import dispatch_incident
from tests.api.helpers import assert_error, assert_matches
from tests.conftest import browser_subscription, client_for

TESTS = "/api/v1/push-tests/"
STATE = "/api/v1/push-device-state/"
RECEIPTS = "/api/v1/push-receipts/"
ANDROID = {"platform": "android", "installed": True, "permission": "granted"}


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def register(responder, name="phone") -> str:
    endpoint = f"https://fcm.googleapis.com/fcm/send/{responder.user.username}-{name}"
    subscribe_device(actor=responder.user, endpoint=endpoint, label=name, **browser_subscription(endpoint)["keys"])
    return endpoint


def start_test(responder, endpoint, **body):
    return client_for(responder.user).post(TESTS, {"endpoint": endpoint, **body}, format="json")


def sent(check_id: int):
    """The worker sends the test push; the job it sent (with the token the push carried)."""
    jobs = [job for job in claim_due(worker="w", limit=50) if job.check_id == check_id]
    record_sent_batch([(job, 201) for job in jobs], worker="w")
    [job] = jobs
    return job


def receipt(body, **headers):
    return APIClient().post(RECEIPTS, body, format="json", **headers)


# --- Test my alerts -------------------------------------------------------------------------------------


def test_it_starts_a_test_of_the_callers_own_phone_and_records_the_apps_state(alice):
    endpoint = register(alice)

    response = start_test(alice, endpoint, state=ANDROID)

    assert response.status_code == 201, response.content
    body = response.json()
    assert_matches("device_check", body)
    assert (body["result"], body["reason"], body["duration_ms"]) == ("pending", "asked", None)
    check = DeviceCheck.objects.get(pk=body["id"])
    assert check.requested_by == alice.user
    [push] = Delivery.objects.filter(device_check=check)
    assert (push.kind, push.alert, push.state) == (Kind.TEST, None, "pending")
    device = PushDevice.objects.get(pk=check.device_id)
    assert (device.platform, device.installed, device.permission) == ("android", True, "granted")
    assert device.state_reported_at is not None


def test_a_second_tap_while_the_first_test_waits_returns_the_same_test(alice):
    endpoint = register(alice)
    first = start_test(alice, endpoint).json()

    again = start_test(alice, endpoint)

    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert DeviceCheck.objects.count() == 1


def test_the_receipt_completes_the_test_and_the_result_says_how_long_it_took(alice):
    endpoint = register(alice)
    check_id = start_test(alice, endpoint).json()["id"]
    job = sent(check_id)

    assert receipt({"check_id": check_id, "token": job.receipt_token, "event": "shown"}).status_code == 204

    result = client_for(alice.user).get(f"{TESTS}{check_id}/")
    assert result.status_code == 200
    body = result.json()
    assert_matches("device_check", body)
    assert body["result"] == "passed" and body["shown_at"] and body["sent_at"]
    assert isinstance(body["duration_ms"], int) and body["duration_ms"] >= 0
    devices = client_for(alice.user).get("/api/v1/push-subscriptions/").json()["results"]
    [phone] = devices
    assert_matches("push_device", phone)
    assert phone["proven"] is True and phone["last_proven_at"] and phone["flagged"] is False


def test_a_phone_that_says_notifications_are_blocked_fails_at_once_and_is_sent_nothing(alice):
    endpoint = register(alice)

    body = start_test(alice, endpoint, state={**ANDROID, "permission": "denied"}).json()

    assert (body["result"], body["failure_code"]) == ("failed", CheckFailure.PERMISSION)
    assert "not allowed" in body["failure_reason"]
    assert not Delivery.objects.filter(kind=Kind.TEST).exists()
    assert PushDevice.objects.get().failed_checks_in_a_row == 1


# --- Whose phone -----------------------------------------------------------------------------------------


def test_another_users_phone_cannot_be_tested_or_reported_on(alice, bob):
    bobs = register(bob)

    assert_error(start_test(alice, bobs), 404, "not_found")
    assert_error(client_for(alice.user).put(STATE, {"endpoint": bobs, **ANDROID}, format="json"), 404, "not_found")
    assert not DeviceCheck.objects.exists()
    assert PushDevice.objects.get().state_reported_at is None


def test_another_users_test_result_is_not_found(alice, bob):
    check_id = start_test(bob, register(bob)).json()["id"]

    assert_error(client_for(alice.user).get(f"{TESTS}{check_id}/"), 404, "not_found")
    assert client_for(bob.user).get(f"{TESTS}{check_id}/").status_code == 200


def test_a_coordinator_has_no_phone_to_test(carol, alice):
    endpoint = register(alice)
    assert_error(client_for(carol).post(TESTS, {"endpoint": endpoint}, format="json"), 403)


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", TESTS), ("get", f"{TESTS}1/"), ("put", STATE)],
)
def test_nobody_logged_in_is_refused(db, method, path):
    response = getattr(APIClient(), method)(path, {"endpoint": "https://fcm.googleapis.com/fcm/send/x"}, format="json")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] in ("not_authenticated", "authentication_failed")


def test_a_session_needs_the_csrf_token(alice, api):
    endpoint = register(alice)
    api.force_login(alice.user)
    assert_error(api.post(TESTS, {"endpoint": endpoint}, format="json"), 403)
    assert not DeviceCheck.objects.exists()


# --- Bad input, named -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platform": "nokia", "installed": True, "permission": "granted"}, "platform"),
        ({"platform": "ios", "installed": "yes", "permission": "granted"}, "installed"),
        ({"platform": "ios", "installed": True, "permission": "maybe"}, "permission"),
        ({"installed": True, "permission": "granted"}, "platform"),
        ({"platform": "ios", "installed": True, "permission": "granted", "endpoint": "not a url"}, "endpoint"),
    ],
)
def test_a_bad_state_report_names_the_field(alice, body, field):
    body = {"endpoint": register(alice), **body}
    assert_error(client_for(alice.user).put(STATE, body, format="json"), 400, "invalid", field=field)


def test_a_state_report_is_recorded(alice):
    endpoint = register(alice)
    response = client_for(alice.user).put(
        STATE, {"endpoint": endpoint, "platform": "ios", "installed": False, "permission": "default"}, format="json"
    )
    assert response.status_code == 200
    assert_matches("push_device", response.json())
    device = PushDevice.objects.get()
    assert (device.platform, device.installed, device.permission) == ("ios", False, "default")


def test_a_bad_state_with_a_test_names_the_nested_field(alice):
    response = start_test(alice, register(alice), state={**ANDROID, "permission": "perhaps"})
    error = assert_error(response, 400, "invalid")
    assert "permission" in str(error["fields"])
    assert not DeviceCheck.objects.exists()


def test_tests_and_reports_are_rate_limited_per_firefighter(alice, bob, settings):
    settings.READINESS_REQUESTS_PER_MINUTE = 2
    endpoint = register(alice)
    client = client_for(alice.user)
    for _ in range(2):
        assert client.put(STATE, {"endpoint": endpoint, **ANDROID}, format="json").status_code == 200

    limited = client.post(TESTS, {"endpoint": endpoint}, format="json")

    assert_error(limited, 429, "throttled")
    assert not DeviceCheck.objects.exists()
    assert start_test(bob, register(bob)).status_code == 201  # another firefighter has their own allowance


# --- The test's receipt: as strict as an alert's ------------------------------------------------------------


@pytest.fixture
def tested(alice, bob):
    """Alice's and Bob's phones each with a test whose push was sent: {name: (check id, token)}."""
    tests = {}
    for responder in (alice, bob):
        check_id = start_test(responder, register(responder)).json()["id"]
        tests[responder.user.username] = (check_id, sent(check_id).receipt_token)
    return tests


def test_a_tests_receipt_is_accepted_once_and_a_replay_is_refused(tested):
    check_id, token = tested["alice"]
    assert receipt({"check_id": check_id, "token": token}).status_code == 204
    shown_at = DeviceCheck.objects.get(pk=check_id).shown_at

    assert_error(receipt({"check_id": check_id, "token": token}), 409, "receipt_already_recorded")

    assert DeviceCheck.objects.get(pk=check_id).shown_at == shown_at


def test_a_forged_token_for_a_test_is_refused(tested):
    check_id, _ = tested["alice"]
    assert_error(receipt({"check_id": check_id, "token": secrets.token_urlsafe(32)}), 403, "invalid_receipt_token")
    assert DeviceCheck.objects.get(pk=check_id).result == CheckResult.PENDING


def test_another_tests_token_is_refused(tested):
    alices, _ = tested["alice"]
    _, bobs_token = tested["bob"]
    assert_error(receipt({"check_id": alices, "token": bobs_token}), 403, "invalid_receipt_token")
    assert DeviceCheck.objects.get(pk=alices).result == CheckResult.PENDING


def test_an_alerts_token_does_not_pass_a_test_nor_a_tests_token_an_alert(tested, alice, incident, carol):
    check_id, test_token = tested["alice"]
    dispatch_incident(actor=carol, incident_id=incident.pk)
    alert_jobs = [job for job in claim_due(worker="w", limit=10) if job.alert_id]
    [alert_job] = [job for job in alert_jobs if Delivery.objects.get(pk=job.delivery_id).device.user == alice.user]

    assert_error(receipt({"check_id": check_id, "token": alert_job.receipt_token}), 403, "invalid_receipt_token")
    assert_error(receipt({"alert_id": alert_job.alert_id, "token": test_token}), 403, "invalid_receipt_token")
    assert DeviceCheck.objects.get(pk=check_id).result == CheckResult.PENDING
    assert not Delivery.objects.filter(shown_at__isnull=False).exists()


def test_a_tests_receipt_from_another_sites_page_is_refused(tested):
    check_id, token = tested["alice"]
    response = receipt({"check_id": check_id, "token": token}, HTTP_ORIGIN="https://evil.example")
    assert_error(response, 403, "cross_origin")
    assert DeviceCheck.objects.get(pk=check_id).result == CheckResult.PENDING


@pytest.mark.parametrize(
    "body",
    [
        {"token": "a" * 43},
        {"alert_id": 1, "check_id": 1, "token": "a" * 43},
        {"check_id": "1", "token": "a" * 43},
        {"check_id": 0, "token": "a" * 43},
    ],
)
def test_a_receipt_names_an_alert_or_a_test_not_both(db, body):
    assert_error(receipt(body), 400, "invalid")


# --- Going on call with no proven phone ----------------------------------------------------------------------


def test_going_on_call_with_no_proven_phone_says_so(alice):
    register(alice)
    alice.on_call = False
    alice.save()

    response = client_for(alice.user).patch("/api/v1/me/", {"on_call": True}, format="json")

    assert response.status_code == 200
    assert_matches("me", response.json())
    readiness = response.json()["readiness"]
    assert (readiness["devices"], readiness["proven_devices"]) == (1, 0)
    assert "Test my alerts" in readiness["warning"]


def test_going_on_call_with_a_proven_phone_has_no_warning(alice):
    register(alice)
    PushDevice.objects.update(last_proven_at=timezone.now() - datetime.timedelta(days=1))

    readiness = client_for(alice.user).patch("/api/v1/me/", {"on_call": True}, format="json").json()["readiness"]

    assert readiness == {"devices": 1, "proven_devices": 1, "flagged_devices": 0, "warning": None}


def test_going_on_call_with_no_phone_at_all_says_so(alice):
    readiness = client_for(alice.user).patch("/api/v1/me/", {"on_call": True}, format="json").json()["readiness"]
    assert readiness["devices"] == 0 and "No phone" in readiness["warning"]


def test_the_admins_deliveries_list_shows_a_test_push_with_whose_phone_it_is(alice, carol):
    from tests.conftest import admin_client_for

    check_id = start_test(alice, register(alice)).json()["id"]

    response = admin_client_for(carol).get("/admin/delivery/delivery/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Test of the device" in page and "alice" in page
    detail = admin_client_for(carol).get(
        f"/admin/delivery/delivery/{Delivery.objects.get(device_check=check_id).pk}/change/"
    )
    assert detail.status_code == 200
