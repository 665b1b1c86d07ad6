"""The admin's second factor in a real browser: a refused code says so on the page. Found by a trial
of the product: a refused code came back to "Enter your code" with no words at all. A plain wrong
code was called wrong all along; the trial's script made the device after the page had loaded,
the enrolment page then (no device yet), which sent the code on to the code page untried
(backend/accounts/admin_site.py: enrol_view)."""

import re

import pytest

from tests.e2e.helpers import DEMO_PASSWORD, new_device_code, watch_for_problems

WITHOUT_DEVICES = """
from django_otp.plugins.otp_totp.models import TOTPDevice
TOTPDevice.objects.filter(user__username="coordinator2").delete()
"""
WRONG = "That code is not right. Codes change every 30 seconds: enter the one your app shows now."


@pytest.fixture
def desk(chromium, server):
    context = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    yield context
    context.close()


def password_step(page, username: str) -> None:
    """The admin's login form, as a coordinator fills it in: on to the code page."""
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/two-factor/"))
    page.get_by_role("heading", name="Enter your code").wait_for()


def not_this(code: str) -> str:
    """A code that is not `code` (nor, by any real chance, the one either side of it)."""
    return f"{(int(code) + 500_000) % 1_000_000:06d}"


def test_a_wrong_code_is_called_wrong_on_the_page(desk, server):
    right = new_device_code(server, "coordinator2")  # a device before the page, as a coordinator has
    page = desk.new_page()
    problems = watch_for_problems(page)
    password_step(page, "coordinator2")

    page.fill("input[name=code]", not_this(right))
    page.click("input[type=submit]")

    page.get_by_role("heading", name="Enter your code").wait_for()
    refusal = page.locator("#login-form .errorlist")
    refusal.get_by_text(WRONG).wait_for()
    assert refusal.is_visible()
    assert "/admin/two-factor/" in page.url
    assert problems == []


def test_a_code_typed_on_an_enrolment_page_overtaken_by_a_device_is_tried(desk, server):
    """The trial's order: the page loaded with no device (the enrolment page), then a device made
    (by its script; for a coordinator, enrolled in another tab), then a code typed on the page.
    Sent on to the code page untried, it came back to "Enter your code" with no words."""
    server.manage("shell", "-c", WITHOUT_DEVICES)
    page = desk.new_page()
    problems = watch_for_problems(page)
    page.goto("/admin/login/")
    page.fill("#id_username", "coordinator2")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.get_by_role("heading", name="Set up your authenticator app").wait_for()
    right = new_device_code(server, "coordinator2")

    page.fill("input[name=code]", not_this(right))
    page.click("input[type=submit]")

    page.get_by_role("heading", name="Enter your code").wait_for()
    page.locator("#login-form .errorlist").get_by_text(WRONG).wait_for()
    # ... and the right code of that device lets them in from the same page, once the second that
    # django-otp refuses every code for after a wrong one is over (a person takes longer).
    page.wait_for_timeout(1_100)
    page.fill("input[name=code]", right)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))
    assert problems == []
