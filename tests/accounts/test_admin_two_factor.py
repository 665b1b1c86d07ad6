"""The admin needs a second factor (TOTP): a coordinator who has given their password is sent to
the code page, or the first time to enrolment; every admin page, the live board included, is
closed to them until a right code. Firefighters' app login needs no second factor."""

import base64
import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import admin_client_for

PASSWORD = "correct horse battery staple"
PAGES = [
    "/admin/",
    "/admin/dispatch/incident/",
    "/admin/dispatch/incident/board/",
    "/admin/accounts/responder/",
]
VERIFY = "/admin/two-factor/"
ENROL = "/admin/two-factor/enrol/"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def code_for(device: TOTPDevice, offset_steps: int = 0) -> str:
    """The code the coordinator's authenticator app shows now (RFC 6238, from the device's key)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset_steps):06d}"


def wrong_code(device: TOTPDevice) -> str:
    right = {code_for(device, drift) for drift in (-1, 0, 1)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in right)


@pytest.fixture
def carol_with_device(carol):
    return TOTPDevice.objects.create(user=carol, name="Phone", confirmed=True)


@pytest.fixture
def desk(carol):
    """Carol's browser after the password step only."""
    client = Client()
    client.force_login(carol)
    return client


@pytest.mark.parametrize("page", PAGES)
def test_every_admin_page_sends_an_unverified_coordinator_to_log_in(desk, carol_with_device, page):
    response = desk.get(page)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    # ... and the login page sends them on to the code page, keeping where they were going.
    onward = desk.get(response["Location"])
    assert onward.status_code == 302
    assert onward["Location"].startswith(VERIFY) and "next=" in onward["Location"]


def test_a_right_code_lets_the_coordinator_in_and_back_to_their_page(desk, carol_with_device):
    board = reverse("admin:dispatch_incident_board")

    response = desk.post(VERIFY, {"code": code_for(carol_with_device), "next": board})

    assert response.status_code == 302 and response["Location"] == board
    assert desk.get(board).status_code == 200
    assert desk.get("/admin/").status_code == 200


def test_a_wrong_code_does_not(desk, carol_with_device):
    response = desk.post(VERIFY, {"code": wrong_code(carol_with_device)})

    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert desk.get("/admin/").status_code == 302


def test_a_code_is_not_accepted_twice(desk, carol_with_device, carol):
    code = code_for(carol_with_device)
    assert desk.post(VERIFY, {"code": code}).status_code == 302

    again = Client()
    again.force_login(carol)

    assert again.post(VERIFY, {"code": code}).status_code == 200
    assert again.get("/admin/").status_code == 302


def test_the_code_page_is_for_staff_who_have_given_their_password(alice, carol_with_device):
    anonymous = Client().get(VERIFY)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")

    firefighter = Client()
    firefighter.force_login(alice.user)
    assert firefighter.get(VERIFY).status_code == 302


def test_the_next_page_must_be_on_this_site(desk, carol_with_device):
    response = desk.post(VERIFY, {"code": code_for(carol_with_device), "next": "https://evil.example/"})

    assert response["Location"] == "/admin/"


# --- Enrolment: the first login of a coordinator without a device -------------------------------


def test_a_coordinator_without_a_device_is_sent_to_enrolment(desk):
    response = desk.get(desk.get("/admin/")["Location"])

    assert response.status_code == 302 and response["Location"].startswith(ENROL)


def test_enrolment_shows_a_qr_code_and_the_key_and_one_right_code_completes_it(desk, carol):
    page = desk.get(ENROL)

    assert page.status_code == 200
    content = page.content.decode()
    assert "<svg" in content and "<path" in content
    device = TOTPDevice.objects.get(user=carol)
    assert not device.confirmed
    secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', content).group(1)  # grouped for typing
    assert base64.b32decode(secret.replace(" ", "")) == device.bin_key

    response = desk.post(ENROL, {"code": code_for(device)})

    assert response.status_code == 302 and response["Location"] == "/admin/"
    device.refresh_from_db()
    assert device.confirmed
    assert desk.get("/admin/").status_code == 200


def test_enrolment_with_a_wrong_code_leaves_the_device_unconfirmed(desk, carol):
    desk.get(ENROL)
    device = TOTPDevice.objects.get(user=carol)

    response = desk.post(ENROL, {"code": wrong_code(device)})

    assert response.status_code == 200 and "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert desk.get("/admin/").status_code == 302
    # Reloading shows the same key: the app already scanned it.
    desk.get(ENROL)
    assert TOTPDevice.objects.filter(user=carol).count() == 1


def test_someone_with_a_device_cannot_enrol_another(desk, carol_with_device, carol):
    response = desk.get(ENROL)

    assert response.status_code == 302 and response["Location"].startswith(VERIFY)
    assert TOTPDevice.objects.filter(user=carol).count() == 1


# Found by a trial of the product: a code typed on the enrolment page after a device had been made
# for the coordinator meanwhile (in another tab, or by the trial's script) came back to "Enter your
# code" with no words: the page sent them on to the code page without trying the code. The code is
# tried on their devices, as the code page would: a wrong one is called wrong, a right one lets in.


def test_a_wrong_code_on_an_enrolment_page_overtaken_by_a_device_is_called_wrong(desk, carol):
    desk.get(ENROL)
    device = TOTPDevice.objects.create(user=carol, name="Made meanwhile", confirmed=True)

    response = desk.post(ENROL, {"code": wrong_code(device)})

    assert response.status_code == 200
    content = response.content.decode()
    assert "Enter your code" in content and "That code is not right" in content
    assert desk.get("/admin/").status_code == 302


def test_a_right_code_on_an_enrolment_page_overtaken_by_a_device_lets_them_in(desk, carol):
    desk.get(ENROL)
    device = TOTPDevice.objects.create(user=carol, name="Made meanwhile", confirmed=True)

    response = desk.post(ENROL, {"code": code_for(device), "next": "/admin/dispatch/incident/"})

    assert response.status_code == 302 and response["Location"] == "/admin/dispatch/incident/"
    assert desk.get("/admin/").status_code == 200


def test_the_second_factor_pages_obey_the_admins_policy(desk, carol):
    response = desk.get(ENROL)

    content = response.content.decode()
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in content and " style=" not in content and "<style" not in content


# --- The full way in, and who needs it -------------------------------------------------------------


def test_password_then_code_through_the_login_form(carol, carol_with_device):
    carol.set_password(PASSWORD)
    carol.save()
    browser = Client()

    after_password = browser.post(
        "/admin/login/?next=/admin/dispatch/incident/",
        {"username": "carol", "password": PASSWORD, "next": "/admin/dispatch/incident/"},
        follow=True,
    )

    assert after_password.redirect_chain[-1][0].startswith(VERIFY)
    after_code = browser.post(VERIFY, {"code": code_for(carol_with_device), "next": "/admin/dispatch/incident/"})
    assert after_code["Location"] == "/admin/dispatch/incident/"
    assert browser.get("/admin/dispatch/incident/").status_code == 200


def test_a_firefighter_logs_in_to_the_app_without_a_code(alice):
    alice.user.set_password(PASSWORD)
    alice.user.save()
    phone = Client(enforce_csrf_checks=True)
    token = phone.get("/api/v1/auth/csrf/").json()["csrf_token"]

    response = phone.post(
        "/api/v1/auth/login/",
        {"username": "alice", "password": PASSWORD},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 200
    assert phone.get("/api/v1/me/").status_code == 200


def test_the_shared_test_helper_gives_a_verified_admin_session(carol):
    assert admin_client_for(carol).get("/admin/").status_code == 200
    assert admin_client_for(carol).get("/admin/").status_code == 200  # twice: one device


def test_codes_from_the_next_or_previous_step_still_count(desk, carol_with_device):
    """Phones' clocks drift: one step either side is accepted (django-otp's tolerance)."""
    assert carol_with_device.tolerance >= 1
    assert desk.post(VERIFY, {"code": code_for(carol_with_device, 1)}).status_code == 302


# --- After wrong codes: django-otp refuses every code for a while (1, 2, 4, 8... seconds) ---------
# Found by a tester: after a few wrong codes the right code was refused with "That code is not
# right", and the same code worked 20 seconds later. The page says to wait, and for how long.


def locked_after_wrong_codes(device: TOTPDevice, wrong: int = 5) -> None:
    """As after `wrong` wrong codes in a row, the last just now: locked for 2 ** (wrong - 1) s."""
    device.throttling_failure_count = wrong
    device.throttling_failure_timestamp = timezone.now()
    device.save()


def wait_asked(response) -> int | None:
    found = re.search(
        r"Too many tries: wait (\d+) seconds?, then enter the code your app shows\.", response.content.decode()
    )
    return int(found.group(1)) if found else None


def test_a_right_code_while_locked_out_after_wrong_codes_is_told_to_wait_not_that_it_is_wrong(desk, carol_with_device):
    locked_after_wrong_codes(carol_with_device)  # 5 wrong codes: 16 seconds

    response = desk.post(VERIFY, {"code": code_for(carol_with_device)})

    assert response.status_code == 200
    assert "That code is not right" not in response.content.decode()
    assert wait_asked(response) in (15, 16)
    assert desk.get("/admin/").status_code == 302
    # Trying while locked out does not lengthen the wait.
    carol_with_device.refresh_from_db()
    assert carol_with_device.throttling_failure_count == 5

    # Once the wait is over, the code the app shows then lets the coordinator in.
    carol_with_device.throttling_failure_timestamp = timezone.now() - datetime.timedelta(seconds=17)
    carol_with_device.save()
    assert desk.post(VERIFY, {"code": code_for(carol_with_device)}).status_code == 302
    assert desk.get("/admin/").status_code == 200


def test_the_wait_is_counted_down_from_when_the_lockout_ends(desk, carol_with_device):
    locked_after_wrong_codes(carol_with_device)
    carol_with_device.throttling_failure_timestamp = timezone.now() - datetime.timedelta(seconds=10)
    carol_with_device.save()

    assert wait_asked(desk.post(VERIFY, {"code": wrong_code(carol_with_device)})) in (5, 6)


def test_a_wrong_code_when_not_locked_out_is_still_called_wrong(desk, carol_with_device):
    carol_with_device.throttling_failure_count = 1
    carol_with_device.throttling_failure_timestamp = timezone.now() - datetime.timedelta(seconds=5)
    carol_with_device.save()

    response = desk.post(VERIFY, {"code": wrong_code(carol_with_device)})

    assert "That code is not right" in response.content.decode() and wait_asked(response) is None


def test_enrolment_while_locked_out_after_wrong_codes_is_told_to_wait(desk, carol):
    desk.get(ENROL)
    device = TOTPDevice.objects.get(user=carol)
    locked_after_wrong_codes(device, wrong=4)  # 8 seconds

    response = desk.post(ENROL, {"code": code_for(device)})

    assert response.status_code == 200
    assert "That code is not right" not in response.content.decode()
    assert wait_asked(response) in (7, 8)
    device.refresh_from_db()
    assert not device.confirmed and device.throttling_failure_count == 4

    device.throttling_failure_timestamp = timezone.now() - datetime.timedelta(seconds=9)
    device.save()
    assert desk.post(ENROL, {"code": code_for(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
