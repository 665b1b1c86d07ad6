from backend.accounts.models import Responder
from tests.api.helpers import assert_error, assert_matches
from tests.conftest import client_for


def test_a_firefighter_sees_their_profile(alice):
    body = client_for(alice.user).get("/api/v1/me/").json()
    assert_matches("me", body)
    assert body["roles"] == ["firefighter"]
    assert body["responder"]["station"]["name"] == "Norwich"
    assert body["responder"]["training_in_date"] is True


def test_a_firefighter_books_off_and_on_call(alice):
    api = client_for(alice.user)
    assert api.patch("/api/v1/me/", {"on_call": False}, format="json").json()["responder"]["on_call"] is False
    assert Responder.objects.get(pk=alice.pk).on_call is False
    assert Responder.objects.get(pk=alice.pk).on_call_changed_at is not None
    assert api.patch("/api/v1/me/", {"on_call": True}, format="json").json()["responder"]["on_call"] is True


def test_on_call_must_be_a_boolean(alice):
    assert_error(
        client_for(alice.user).patch("/api/v1/me/", {"on_call": "sometimes"}, format="json"), 400, field="on_call"
    )


def test_a_coordinator_sees_their_role_and_cannot_book_on_call(carol):
    api = client_for(carol)
    body = api.get("/api/v1/me/").json()
    assert_matches("me", body)
    assert body["roles"] == ["coordinator"] and body["responder"] is None
    assert_error(api.patch("/api/v1/me/", {"on_call": True}, format="json"), 403)
