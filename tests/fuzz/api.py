"""Fuzzing the REST API with Schemathesis, in process: shared by tests/fuzz/test_api_fuzz.py (CI)
and bench/fuzz_api.py (a deeper run).

The schema is the one the product serves at /api/schema/ (drf-spectacular). Requests go to the
product's WSGI application in this process, on the test database, authenticated as a role: a real
session cookie with its CSRF token for people, an API token for the ambulance dispatch system.
Path parameters are drawn half from the ids that exist (so that examples reach the code behind
the permission checks) and half from Schemathesis's own; bodies are both valid and invalid.
Checks: no 5xx, and every response matches its documented schema.
"""

import time
from dataclasses import dataclass, field

import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from knox.models import AuthToken
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from backend.accounts.second_factor import needs_second_factor
from tests.conftest import pass_second_factor
from tests.security.world import ROLES as MATRIX_ROLES

CHECKS = [not_a_server_error, response_schema_conformance]
# Every role of the permission matrix (tests/security/world.py).
ROLES = tuple(MATRIX_ROLES)


class InProcessWSGI:
    """The product's WSGI application, without closing the database connection after each
    request (Django does that between real requests; here the test's transaction must survive)."""

    def __init__(self):
        self.handler = WSGIHandler()

    def __enter__(self):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        return self

    def __exit__(self, *exc):
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)

    def __call__(self, environ, start_response):
        # Again for each request: Django's test client (used to log in) connects them back.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        return self.handler(environ, start_response)


def load_schema(app):
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)


def operations(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


def label(operation) -> str:
    return f"{operation.method.upper()} {operation.path}"


@dataclass
class Credentials:
    """How each role authenticates: headers for Schemathesis's calls."""

    world: object
    cache: dict = field(default_factory=dict)

    def of(self, role: str, *, fresh: bool = False) -> tuple[dict, dict]:
        """(headers, cookies) for a request as `role`."""
        if fresh:  # not kept: logging out ends it
            headers, cookies = self._make(role)
            return headers, cookies
        if role not in self.cache:
            self.cache[role] = self._make(role)
        headers, cookies = self.cache[role]
        return dict(headers), dict(cookies)

    def _make(self, role: str) -> tuple[dict, dict]:
        user = self.world.users[role]
        if role == "machine":
            _, token = AuthToken.objects.create(user=user, expiry=None)
            return {"Authorization": f"Token {token}"}, {}
        browser = Client()
        if user is not None:
            browser.force_login(user)
            if needs_second_factor(user):  # staff: without it every request is a 401 before any view
                pass_second_factor(browser, user)
        csrf = browser.get("/api/v1/auth/csrf/").json()["csrf_token"]
        return {"X-CSRFToken": csrf}, {name: morsel.value for name, morsel in browser.cookies.items()}


def real_ids(world) -> dict[str, list[int]]:
    """Ids that exist, by path parameter name."""
    from backend.records.models import Attendance, Outcome

    return {
        "alert_id": sorted({world.alert, world.accepted_alert, *world.own_accepted_alerts.values()}),
        "incident_id": sorted({world.incident, world.accepted_incident, world.yarmouth_incident}),
        "record_id": sorted(
            {*Attendance.objects.values_list("pk", flat=True), *Outcome.objects.values_list("pk", flat=True)}
        )
        or [1],
    }


def case_strategy(operation, ids: dict[str, list[int]]):
    """Valid and invalid requests; path parameters half real, half Schemathesis's."""
    names = [parameter.name for parameter in operation.path_parameters]
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategies.append(operation.as_strategy(generation_mode=mode))
        if names and all(name in ids for name in names):
            real = st.fixed_dictionaries({name: st.sampled_from(ids[name]) for name in names})
            strategies.append(
                real.flatmap(
                    lambda values, mode=mode: operation.as_strategy(generation_mode=mode, path_parameters=values)
                )
            )
    return st.one_of(strategies)


@dataclass
class FuzzResult:
    examples: int = 0
    failures: list = field(default_factory=list)
    statuses: dict = field(default_factory=dict)
    seen: set = field(default_factory=set)


def fuzz_operation(
    operation, app, credentials: Credentials, ids, *, examples_per_role: int, roles=ROLES, seed=None
) -> FuzzResult:
    """Up to `examples_per_role` generated requests to one operation as each role in turn (fewer if
    Hypothesis runs out of distinct requests). Every failing check is recorded (the first of each
    kind, role and status), none stops the run."""
    result = FuzzResult()
    strategy = case_strategy(operation, ids)
    for role in roles:
        run = _runner(role, operation, app, credentials, result)
        run = settings(
            max_examples=examples_per_role,
            deadline=None,
            database=None,
            derandomize=seed is None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(given(case=strategy)(run))
        if seed is not None:
            run = hypothesis_seed(seed)(run)
        run()
    return result


def _runner(role: str, operation, app, credentials: Credentials, result: FuzzResult):
    """One example: the request as `role`, then the checks."""
    # Logging in and out changes whom the cookie belongs to: fresh credentials for each example.
    fresh = operation.path.endswith(("/auth/logout/", "/auth/login/"))

    def run(case):
        result.examples += 1
        headers, cookies = credentials.of(role, fresh=fresh)
        response = case.call(app=app, headers=headers, cookies=cookies)
        result.statuses[response.status_code] = result.statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as failure:  # recorded, not raised: the run goes on
            kind = (role, response.status_code, str(failure)[:80])
            if kind not in result.seen:
                result.seen.add(kind)
                result.failures.append(
                    {
                        "operation": label(operation),
                        "role": role,
                        "status": response.status_code,
                        "failure": str(failure)[:2000],
                        "curl": case.as_curl_command(headers=headers),
                    }
                )

    return run


def fuzz_all(world, *, examples_per_role: int, roles=ROLES, seed=None, only=None) -> dict:
    """Every operation of the schema; figures for a report."""
    started = time.monotonic()
    results = {}
    with InProcessWSGI() as app:
        schema = load_schema(app)
        credentials = Credentials(world)
        ids = real_ids(world)
        for operation in operations(schema):
            if only and label(operation) not in only:
                continue
            results[label(operation)] = fuzz_operation(
                operation, app, credentials, ids, examples_per_role=examples_per_role, roles=roles, seed=seed
            )
    return {"results": results, "seconds": time.monotonic() - started}
