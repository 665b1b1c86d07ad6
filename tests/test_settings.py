"""Settings come from the environment and a bad value stops start-up with a message that names it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.delivery import vapid

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


def start(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VAPID_", "DATABASE_", "REDIS_"))}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='backend.settings'; django.setup()",
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
