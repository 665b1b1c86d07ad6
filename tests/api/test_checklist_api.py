"""GET /api/v1/checklist/: the on-scene checklist, for firefighters and coordinators."""

import json

from rest_framework.test import APIClient

from backend.checklists import content
from tests.api.helpers import assert_error, assert_matches
from tests.conftest import client_for, token_client_for


def test_it_gives_a_firefighter_the_checklist_file_with_its_sign_off(alice):
    # Development (the tests' settings) serves the newest version, a draft until it is approved:
    # production serves only an approved one (tests/checklists/test_sign_off.py).
    response = client_for(alice.user).get("/api/v1/checklist/")

    assert response.status_code == 200
    assert_matches("checklist", response.json())
    served = response.json()
    assert served.pop("sign_off")["status"] == "draft"
    assert served == json.loads(content.CURRENT_FILE.read_text(encoding="utf-8"))


def test_it_gives_a_coordinator_the_checklist(carol):
    assert client_for(carol).get("/api/v1/checklist/").json()["version"] == content.current()["version"]


def test_it_refuses_the_dispatch_system_and_users_without_a_role(cad, nobody):
    assert_error(token_client_for(cad).get("/api/v1/checklist/"), 403, "permission_denied")
    assert_error(client_for(nobody).get("/api/v1/checklist/"), 403, "permission_denied")


def test_it_needs_a_login(db):
    assert_error(APIClient().get("/api/v1/checklist/"), 401)
