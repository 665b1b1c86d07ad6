"""GET /api/v1/auth/session/: who is signed in, if anyone. The app asks at start; nobody signed in
is an answer (200), not an error, so the login page logs no 401."""

from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from backend.accounts.actions import profile_of
from tests.api.helpers import assert_error, assert_matches
from tests.conftest import admin_client_for


def test_it_answers_nobody_signed_in_with_200(db):
    response = Client().get("/api/v1/auth/session/")

    assert response.status_code == 200
    assert response.json() == {"authenticated": False}
    assert_matches("session", response.json())


def test_it_gives_a_signed_in_firefighter_their_profile(alice):
    browser = Client()
    browser.force_login(alice.user)

    response = browser.get("/api/v1/auth/session/")

    assert response.status_code == 200
    assert response.json() == {"authenticated": True, "me": profile_of(alice.user)}
    assert_matches("session", response.json())
    assert response.json()["me"] == browser.get("/api/v1/me/").json()


def test_it_gives_a_coordinator_past_the_second_factor_their_profile(carol):
    response = admin_client_for(carol).get("/api/v1/auth/session/")

    assert response.json()["authenticated"] is True
    assert "coordinator" in response.json()["me"]["roles"]


def test_it_refuses_a_staff_session_without_the_second_factor(carol):
    browser = Client()
    browser.force_login(carol)

    assert_error(browser.get("/api/v1/auth/session/"), 401, "authentication_failed")


def test_it_knows_the_dispatch_system_by_its_token(cad):
    _, token = AuthToken.objects.create(user=cad, expiry=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert client.get("/api/v1/auth/session/").json()["me"]["roles"] == ["dispatch_system"]


def test_a_wrong_token_is_an_error_not_nobody(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    assert_error(client.get("/api/v1/auth/session/"), 401)


def test_after_logging_out_it_says_nobody(alice):
    browser = Client()
    browser.force_login(alice.user)
    browser.get("/api/v1/auth/csrf/")
    browser.post("/api/v1/auth/logout/")

    assert browser.get("/api/v1/auth/session/").json() == {"authenticated": False}


def test_it_is_documented_in_the_openapi_schema(db):
    document = Client().get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"}).json()

    answers = document["paths"]["/api/v1/auth/session/"]["get"]["responses"]
    assert set(answers) == {"200", "401"}
    schema = answers["200"]["content"]["application/json"]["schema"]
    assert [option["properties"]["authenticated"]["const"] for option in schema["oneOf"]] == [False, True]
