"""No cache keeps an API answer (backend/headers.py): every answer under /api/ depends on who is
asking (alerts, incident addresses, outcomes, welfare answers; even a refusal says something), so
each says `Cache-Control: no-store, private` and `Vary: Cookie, Authorization`.

Walks every route and method of the URL conf under api/: each is called as a role the permission
matrix (test_permission_matrix.py) lets in, and as one it refuses, so a new endpoint
(or a view that sets its own Cache-Control) cannot forget."""

import pytest
from django.utils.cache import get_max_age

from tests.security.test_permission_matrix import (
    API_MATRIX,
    body_of,
    client_as,
    make_record_first,
    shared_world,  # noqa: F401  (the fixture: built once for this module too)
    url_of,
    world,  # noqa: F401  (the fixture)
)
from tests.security.world import ROLES, api_methods, routes_under


def directives(response) -> set[str]:
    return {part.strip().lower() for part in response.get("Cache-Control", "").split(",") if part.strip()}


def varies_on(response) -> set[str]:
    return {part.strip().lower() for part in response.get("Vary", "").split(",") if part.strip()}


def assert_never_stored(response, where: str) -> None:
    cache_control = directives(response)
    assert {"no-store", "private"} <= cache_control, f"{where}: Cache-Control {response.get('Cache-Control')!r}"
    assert "public" not in cache_control and not get_max_age(response), f"{where}: {response.get('Cache-Control')!r}"
    assert {"cookie", "authorization"} <= varies_on(response), f"{where}: Vary {response.get('Vary')!r}"


def test_every_api_route_and_method_is_walked_here():
    """The walk below follows the permission matrix, which must hold every route of the URL conf."""
    in_conf = {(route, method) for route, callback in routes_under("api/").items() for method in api_methods(callback)}
    walked = {(entry.route, entry.method) for entry in API_MATRIX}
    assert in_conf <= walked, sorted(in_conf - walked)


@pytest.mark.parametrize("entry", API_MATRIX, ids=[f"{entry.method} {entry.url}" for entry in API_MATRIX])
def test_no_api_answer_may_be_stored_by_any_cache(world, entry):  # noqa: F811
    """As a role let in (the answer with the data: once, as the call may change state), then as a
    role refused."""
    let_in = [role for role in ROLES if entry.status_for(role) < 300][:1]
    refused = [role for role in ROLES if entry.status_for(role) >= 400][:1]
    assert let_in or refused
    record = make_record_first(entry, world)
    for role in [*let_in, *refused]:
        client = client_as(world, role)
        path = url_of(entry, world, role, record)
        body = body_of(entry, role)
        call = getattr(client, entry.method)
        response = call(path, body, format="json") if body is not None else call(path)
        where = f"{role} {entry.method.upper()} {path} ({response.status_code})"
        assert response.status_code == entry.status_for(role), where
        assert_never_stored(response, where)


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_an_unknown_api_url_and_the_browsable_api_are_never_stored_either(world, accept):  # noqa: F811
    client = client_as(world, "firefighter")
    for path in ("/api/v1/nothing-here/", "/api/v1/alerts/", "/api/v1/me/"):
        response = client.get(path, headers={"Accept": accept})
        assert_never_stored(response, f"GET {path} as {accept} ({response.status_code})")
