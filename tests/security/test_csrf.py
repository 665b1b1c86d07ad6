"""A state change with a session cookie but without the CSRF token is refused, on every endpoint.

Built from the URL walk: every API route and method that changes state, and every admin page
(Django refuses any POST without the token there). Each is sent as a user allowed to do it, first
without the token (403, nothing changed), then with it (the answer the permission matrix expects),
so the refusal is shown to be the CSRF check and nothing else."""

import pytest
from django.test import Client

from tests.security.test_permission_matrix import (
    API_MATRIX,
    Entry,
    _admin_model_routes,
    _admin_url,
    assert_refusal_holds_no_data,
    body_of,
    make_record_first,
    populate_admin_rows,
    url_of,
)
from tests.security.world import STATE_CHANGING, admin_client, api_methods, build_world, routes_under, snapshot

SESSION_ROLES = ("firefighter", "crew_lead", "other_station_firefighter", "coordinator", "welfare_lead", "nobody")


# The one state-changing call with no session to protect: the phones' receipts, which a service
# worker sends with the app closed or logged out. A single-use token from the push proves them, and
# a page of another site is refused by its Origin (tests below).
NO_SESSION = {("api/v1/push-receipts/", "post")}


def _state_changing_api_calls() -> list[tuple[str, str]]:
    return sorted(
        (route, method)
        for route, callback in routes_under("api/").items()
        for method in api_methods(callback)
        if method in STATE_CHANGING and (route, method) not in NO_SESSION
    )


def test_the_receipts_without_a_session_are_the_only_exception():
    every_call = {
        (route, method)
        for route, callback in routes_under("api/").items()
        for method in api_methods(callback)
        if method in STATE_CHANGING
    }
    assert every_call - set(_state_changing_api_calls()) == NO_SESSION


def test_a_receipt_posted_by_another_sites_page_is_refused_by_its_origin(world):
    browser, _ = _browser(world, "firefighter")
    body = {"alert_id": world.alert, "token": "A" * 43}
    before = snapshot()

    refused = browser.post(
        "/api/v1/push-receipts/", body, content_type="application/json", HTTP_ORIGIN="https://evil.example"
    )

    assert_refusal_holds_no_data(refused, 403)
    assert refused.json()["error"]["code"] == "cross_origin"
    assert snapshot() == before


def _entry_and_role(route: str, method: str) -> tuple[Entry, str]:
    """The matrix entry for this call, and a role with a session that may make it (logging in with
    a wrong password is "allowed": 400)."""
    for entry in API_MATRIX:
        if entry.route == route and entry.method == method:
            for role in ("anonymous", *SESSION_ROLES):
                if entry.status_for(role) not in (401, 403, 404):
                    return entry, role
    raise AssertionError(f"No role with a session may {method} {route}: add an entry to API_MATRIX")


@pytest.fixture
def world(alice, charlie, erin, carol, wendy, cad, nobody):
    return build_world(alice=alice, charlie=charlie, erin=erin, carol=carol, wendy=wendy, cad=cad, nobody=nobody)


def _browser(world, role: str) -> tuple[Client, str]:
    # Staff sessions reach the API only past the second factor; admin_client gives them that.
    browser = admin_client(world.users[role])
    browser.handler.enforce_csrf_checks = True
    token = browser.get("/api/v1/auth/csrf/").json()["csrf_token"]
    return browser, token


def test_there_are_state_changing_calls_to_check():
    calls = _state_changing_api_calls()
    assert ("api/v1/incidents/<int:incident_id>/cancel/", "post") in calls
    assert len(calls) >= 15


@pytest.mark.parametrize(("route", "method"), _state_changing_api_calls(), ids=lambda value: value)
def test_a_state_change_without_the_csrf_token_is_refused(world, route, method):
    entry, role = _entry_and_role(route, method)
    browser, token = _browser(world, role)
    made = make_record_first(entry, world)
    path = url_of(entry, world, role, made)
    body = body_of(entry, role)
    call = getattr(browser, method)
    kwargs = {"content_type": "application/json"} if body is not None else {}
    before = snapshot()

    refused = call(path, body, **kwargs) if body is not None else call(path)

    assert_refusal_holds_no_data(refused, 403)
    assert "CSRF" in refused.json()["error"]["message"]
    assert snapshot() == before, f"{method} {path} changed something without the CSRF token"
    if world.users[role] is not None:
        assert browser.get("/api/v1/me/").status_code == 200, "the session was ended (logged out) without the token"
    # The same request with the token gets the answer the matrix expects: the token was all it lacked.
    kwargs["headers"] = {"X-CSRFToken": token}
    allowed = call(path, body, **kwargs) if body is not None else call(path, **kwargs)
    assert allowed.status_code == entry.status_for(role), (role, allowed.content[:300])


def test_every_admin_page_refuses_a_post_without_the_csrf_token(world):
    """As a coordinator past the second factor: no admin POST is let through without the token."""
    populate_admin_rows(world)
    coordinator = admin_client(world.users["coordinator"])
    coordinator.handler.enforce_csrf_checks = True
    model_routes = _admin_model_routes()
    before = snapshot()
    problems = []
    for route in routes_under("admin/"):
        url = (
            "/admin/dispatch/" if route.startswith("admin/^(?P<app_label>") else _admin_url(route, world, model_routes)
        )
        response = coordinator.post(
            url, {"reason": "Test.", "confirm": "1", "action": "delete_selected", "post": "yes"}
        )
        if response.status_code != 403:
            problems.append(f"POST {url}: {response.status_code}")
    assert not problems, "\n".join(problems)
    assert snapshot() == before
