"""The admin site: a password, then a code from an authenticator app (TOTP, django-otp).

Every admin page, the live board and any view wrapped in `admin_site.admin_view` need a session
verified with a second factor: `has_permission` says no until then, and the login page sends a
staff member who has given their password on to the code page, or, the first time, to enrolment
(scan a QR code, type one code). Firefighters never use the admin; their app needs no second factor.
After wrong codes django-otp refuses every code for a while (1, 2, 4, 8... seconds): both pages then
say how long to wait (check_code), rather than call a right code wrong.

Tests log in with `admin_client_for(user)` (tests/conftest.py), which gives the user a device and
a verified session.
"""

import base64
import math
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import devices_for_user, user_has_device
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "Authenticator app"


class CodeForm(forms.Form):
    code = forms.RegexField(
        regex=r"^\s*\d{6}\s*$",
        label="Code from your authenticator app",
        error_messages={"invalid": "Enter the 6 digits your authenticator app shows now."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def clean_code(self):
        return self.cleaned_data["code"].strip()


WRONG_CODE = "That code is not right. Codes change every 30 seconds: enter the one your app shows now."


def too_many_tries(seconds: int) -> str:
    return f"Too many tries: wait {seconds} second{'' if seconds == 1 else 's'}, then enter the code your app shows."


def _wait_seconds(device, now=None) -> int | None:
    """How long the device refuses every code after wrong ones (django-otp's throttling doubles the
    wait with each wrong code: 1, 2, 4, 8... seconds), in whole seconds, at least 1; None if it
    takes codes now. Found by a tester: after a few wrong codes the right one was refused with "That
    code is not right", and worked 20 seconds later."""
    allowed, why = device.verify_is_allowed()
    if allowed:
        return None
    locked_until = (why or {}).get("locked_until")
    if locked_until is None:
        return 1
    remaining = (locked_until - (now or timezone.now())).total_seconds()
    return max(1, math.ceil(remaining))


def check_code(devices, code: str) -> tuple[object | None, str]:
    """The device among `devices` that takes `code`, or None and why not in words: the code is
    wrong, or a device is refusing codes for a while after wrong ones (the code is not tried on it,
    so it neither counts as one more wrong code nor is called wrong: it may be right)."""
    waits = []
    for device in devices:
        wait = _wait_seconds(device)
        if wait is not None:
            waits.append(wait)
            continue
        if device.verify_token(code):
            return device, ""
    if waits:
        return None, too_many_tries(min(waits))
    return None, WRONG_CODE


def is_verified(user) -> bool:
    """Whether this request's user has passed the second factor (django_otp's OTPMiddleware)."""
    return user.is_authenticated and getattr(user, "is_verified", lambda: False)()


class CoordinatorsAdminSite(admin.AdminSite):
    site_header = "Co-responder alerting: coordinators"
    site_title = "Co-responder alerting"
    index_title = "Incidents, dispatch and crews"

    def has_permission(self, request):
        return super().has_permission(request) and is_verified(request.user)

    @method_decorator(never_cache)
    def login(self, request, extra_context=None):
        if request.method == "GET" and _is_staff(request.user) and not is_verified(request.user):
            return self._second_factor_redirect(request)
        return super().login(request, extra_context)

    def get_urls(self):
        return [
            path("two-factor/", self._staff_only(self.verify_view), name="two_factor_verify"),
            path("two-factor/enrol/", self._staff_only(self.enrol_view), name="two_factor_enrol"),
            *super().get_urls(),
        ]

    def _staff_only(self, view):
        """Logged in with a password as staff, not necessarily verified yet."""

        @never_cache
        @csrf_protect
        def wrapper(request, *args, **kwargs):
            if not _is_staff(request.user):
                return redirect_to_login(request.get_full_path(), reverse("admin:login", current_app=self.name))
            return view(request, *args, **kwargs)

        return wrapper

    def _second_factor_redirect(self, request):
        name = "admin:two_factor_verify" if user_has_device(request.user) else "admin:two_factor_enrol"
        target = reverse(name, current_app=self.name)
        next_url = _safe_next(request)
        return HttpResponseRedirect(f"{target}?{urlencode({'next': next_url})}" if next_url else target)

    def verify_view(self, request):
        if not user_has_device(request.user):
            return self._second_factor_redirect(request)
        form = CodeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            with transaction.atomic():
                devices = list(devices_for_user(request.user, for_verify=True))
                device, refusal = check_code(devices, form.cleaned_data["code"])
            if device is not None:
                otp_login(request, device)
                return self._continue(request)
            form.add_error("code", refusal)
        return self._render(request, "accounts/two_factor_verify.html", {"form": form, "title": "Enter your code"})

    def enrol_view(self, request):
        """First login: a new authenticator app. The device counts once one code from it is right."""
        if user_has_device(request.user):
            # A device was made while this page was open (enrolled in another tab, or by an
            # administrator): the code typed here is tried on it as the code page would, right or
            # called wrong there. Found by a trial of the product: sent on without trying it, the
            # code came back to "Enter your code" with no words.
            if request.method == "POST":
                return self.verify_view(request)
            return self._second_factor_redirect(request)
        device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
        if device is None:
            device = TOTPDevice.objects.create(user=request.user, name=DEVICE_NAME, confirmed=False)
        form = CodeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            right, refusal = check_code([device], form.cleaned_data["code"])
            if right is not None:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                otp_login(request, device)
                return self._continue(request)
            form.add_error("code", refusal)
        context = {
            "form": form,
            "title": "Set up your authenticator app",
            "qr_svg": _qr_svg(device.config_url),
            "secret": _grouped(base64.b32encode(device.bin_key).decode()),
        }
        return self._render(request, "accounts/two_factor_enrol.html", context)

    def _render(self, request, template, context):
        context = {**self.each_context(request), "next": _safe_next(request), **context}
        return TemplateResponse(request, template, context)

    def _continue(self, request):
        return HttpResponseRedirect(_safe_next(request) or reverse("admin:index", current_app=self.name))


def _is_staff(user) -> bool:
    return user.is_authenticated and user.is_active and user.is_staff


def _safe_next(request) -> str:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure())
    return next_url if allowed else ""


def _qr_svg(data: str) -> str:
    """The enrolment QR code as inline SVG: no script or style, so the admin's policy allows it."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return mark_safe(image.to_string(encoding="unicode"))  # noqa: S308 (made here, no user input)


def _grouped(secret: str) -> str:
    return " ".join(secret[index : index + 4] for index in range(0, len(secret), 4))
