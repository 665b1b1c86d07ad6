"""Settings come from the environment and a bad value stops start-up with a message that names it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.delivery import vapid

# Each test starts Django in a fresh interpreter.
pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parents[1]
GOOD_KEY = vapid.private_key_b64(vapid.generate())
PRODUCTION = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "x" * 60,
    "DATABASE_URL": "postgres://u@db.invalid/x",
    "DJANGO_ALLOWED_HOSTS": "coresponder.example.nhs.uk",
    "VAPID_PRIVATE_KEY": GOOD_KEY,
    "VAPID_SUBJECT": "mailto:ops@example.nhs.uk",
}


def start(env: dict, then: str = "") -> subprocess.CompletedProcess:
    """Start Django with only these settings in the environment; `then` runs after set-up."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VAPID_", "DATABASE_", "REDIS_"))}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='backend.settings'; django.setup()\n" + then,
        ],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_start_when_complete():
    result = start(PRODUCTION)
    assert result.returncode == 0, result.stderr


SHOW_SECURITY = """
import json
from django.conf import settings as s
names = ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SECURE_SSL_REDIRECT",
         "SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
         "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS", "DEBUG", "SESSION_COOKIE_AGE", "ADMIN_SESSION_MAX_AGE",
         "ADMIN_SESSION_IDLE", "AXES_FAILURE_LIMIT", "AXES_COOLOFF_TIME", "AXES_LOCKOUT_PARAMETERS"]
print(json.dumps({name: getattr(s, name, None) for name in names}, default=str))
"""


def security_settings(env: dict) -> dict:
    result = start(env, then=SHOW_SECURITY)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_turn_on_https_hsts_and_secure_cookies():
    shown = security_settings(PRODUCTION)

    assert shown["SESSION_COOKIE_SECURE"] is True and shown["CSRF_COOKIE_SECURE"] is True
    assert shown["SESSION_COOKIE_HTTPONLY"] is True
    assert shown["SECURE_SSL_REDIRECT"] is True
    assert shown["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert shown["SECURE_HSTS_SECONDS"] >= 31536000
    assert shown["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True and shown["SECURE_HSTS_PRELOAD"] is True
    assert shown["SECURE_CONTENT_TYPE_NOSNIFF"] is True and shown["X_FRAME_OPTIONS"] == "DENY"
    assert shown["DEBUG"] is False


def test_login_limits_and_session_lifetimes_come_from_the_environment():
    default = security_settings(PRODUCTION)
    assert (default["SESSION_COOKIE_AGE"], default["ADMIN_SESSION_MAX_AGE"], default["ADMIN_SESSION_IDLE"]) == (
        30 * 86400,
        8 * 3600,
        30 * 60,
    )
    assert (default["AXES_FAILURE_LIMIT"], default["AXES_COOLOFF_TIME"]) == (5, "0:15:00")
    assert default["AXES_LOCKOUT_PARAMETERS"] == [["username", "ip_address"]]

    shown = security_settings(
        {
            **PRODUCTION,
            "FIREFIGHTER_SESSION_DAYS": "14",
            "ADMIN_SESSION_HOURS": "4",
            "ADMIN_SESSION_IDLE_MINUTES": "15",
            "LOGIN_FAILURE_LIMIT": "8",
            "LOGIN_COOLOFF_MINUTES": "30",
        }
    )
    assert (shown["SESSION_COOKIE_AGE"], shown["ADMIN_SESSION_MAX_AGE"], shown["ADMIN_SESSION_IDLE"]) == (
        14 * 86400,
        4 * 3600,
        15 * 60,
    )
    assert (shown["AXES_FAILURE_LIMIT"], shown["AXES_COOLOFF_TIME"]) == (8, "0:30:00")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VAPID_PRIVATE_KEY": "not-a-key"}, "VAPID_PRIVATE_KEY is not a VAPID private key"),
        ({"VAPID_SUBJECT": "ops@example.nhs.uk"}, "VAPID_SUBJECT='ops@example.nhs.uk' must be a mailto: address"),
        ({"VAPID_PRIVATE_KEY": ""}, "VAPID_PRIVATE_KEY (or VAPID_PRIVATE_KEY_FILE) must be set"),
        ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY must be at least 50 characters"),
        ({"DJANGO_DEBUG": "1"}, "DJANGO_DEBUG must not be on"),
        ({"DJANGO_DEBUG": "perhaps"}, "DJANGO_DEBUG='perhaps' is not a boolean"),
        ({"DISPATCH_RADIUS_KM": "far"}, "DISPATCH_RADIUS_KM='far' is not a number"),
        ({"DISPATCH_MAX_PER_STATION": "0"}, "DISPATCH_MAX_PER_STATION='0' is below the minimum"),
        ({"ESCALATION_LADDER": "60:ring,30:alarm"}, "ESCALATION_LADDER steps must be in increasing time"),
        ({"ESCALATION_LADDER": "60:panic"}, "ESCALATION_LADDER step '60:panic' must be SECONDS:ACTION"),
        ({"DJANGO_ALLOWED_ORIGINS": "coresponder.example.nhs.uk"}, "is not an origin"),
        ({"READINESS_QUIET_HOURS": "22-08"}, "READINESS_QUIET_HOURS='22-08' must be a daily window HH:MM-HH:MM"),
        ({"READINESS_QUIET_HOURS": "25:00-08:00"}, "must be a daily window HH:MM-HH:MM"),
        ({"READINESS_QUIET_HOURS": "08:00-08:00"}, "starts and ends at the same time"),
        (
            {"DJANGO_SECRET_KEY_FILE": "/nonexistent/secret"},
            "DJANGO_SECRET_KEY_FILE='/nonexistent/secret' cannot be read",
        ),
    ],
)
def test_a_bad_value_stops_start_up_with_a_clear_message(env, message):
    result = start({**PRODUCTION, **env})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr, result.stderr[-500:]


def test_secrets_can_come_from_files(tmp_path):
    key_file = tmp_path / "vapid"
    key_file.write_text(GOOD_KEY + "\n")
    env = {**PRODUCTION, "VAPID_PRIVATE_KEY": "", "VAPID_PRIVATE_KEY_FILE": str(key_file)}
    del env["VAPID_PRIVATE_KEY"]
    result = start(env)
    assert result.returncode == 0, result.stderr


def test_quiet_hours_are_read_as_a_daily_window_or_none():
    read = "from django.conf import settings; print(repr(settings.READINESS_QUIET_HOURS))"
    assert start(PRODUCTION, read).stdout.strip().splitlines()[-1] == ("(datetime.time(22, 0), datetime.time(8, 0))")
    assert start({**PRODUCTION, "READINESS_QUIET_HOURS": " 1:30-05:00 "}, read).stdout.strip().splitlines()[-1] == (
        "(datetime.time(1, 30), datetime.time(5, 0))"
    )
    assert start({**PRODUCTION, "READINESS_QUIET_HOURS": ""}, read).stdout.strip().splitlines()[-1] == "None"
