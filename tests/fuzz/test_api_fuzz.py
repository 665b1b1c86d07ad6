"""Schemathesis against /api/schema/, in process, as every role (tests/fuzz/api.py).

CI budget: EXAMPLES (100) requests per operation, shared out evenly over the roles (13 each for
8 roles), one test per operation so that pytest-xdist spreads them; .ci/run's PostgreSQL pass
sends 50 others (API_FUZZ_EXAMPLES, API_FUZZ_SEED). 100 for each role would be 8
times that: bench/fuzz_api.py does that, and more.

The world, the served schema and each role's login are made once for the module (each was made
again for every operation: a fifth of the module's time); what an operation's examples write is
rolled back after its test, and its examples use the same logins (a login or logout example logs
in afresh: tests/fuzz/api.py)."""

import os
from dataclasses import dataclass

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from tests.fuzz.api import ROLES, Credentials, InProcessWSGI, fuzz_operation, label, load_schema, operations, real_ids
from tests.security.test_permission_matrix import RECORDS_MADE_FIRST, Entry, make_record_first
from tests.security.world import build_world, make_personas
from tests.support.database import once_per_module

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "100"))
# Spread over the roles: 13 each for the 8 roles, 104 in all.
EXAMPLES_PER_ROLE = -(-EXAMPLES // len(ROLES))
# Unset: derandomised (Hypothesis's seed from the test). .ci/run's PostgreSQL pass gives a seed of its
# own and half the examples: its examples are then others than the SQLite pass's, not the same again
# (README, "Testing").
SEED = int(os.environ["API_FUZZ_SEED"]) if os.environ.get("API_FUZZ_SEED") else None
HTTP_METHODS = ("get", "put", "post", "patch", "delete")


def _operation_labels() -> list[str]:
    document = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    )


LABELS = _operation_labels()


@dataclass
class Fuzzing:
    """What every operation's test shares: the world, the application, the schema it serves, and
    each role logged in."""

    world: object
    app: InProcessWSGI
    operations: dict  # label -> the served schema's operation
    credentials: Credentials
    ids: dict


def _build_world():
    world = build_world(**make_personas())
    for setup in ("alice's attendance", "erin's outcome"):
        assert setup in RECORDS_MADE_FIRST
        make_record_first(Entry("get", "", {}, setup=setup), world)
    return world


def _prepare() -> Fuzzing:
    world = _build_world()
    app = InProcessWSGI()
    with app:
        served = {label(operation): operation for operation in operations(load_schema(app))}
        credentials = Credentials(world)
        for role in ROLES:
            credentials.of(role)  # logged in now, in the module's world
    return Fuzzing(world=world, app=app, operations=served, credentials=credentials, ids=real_ids(world))


@pytest.fixture(scope="module")
def shared_fuzzing(django_db_setup, django_db_blocker):
    """The permission matrix's world with records, the schema and the logins, made once for the
    module (tests/support/database.py)."""
    yield from once_per_module(django_db_blocker, _prepare)


@pytest.fixture
def fuzzing(shared_fuzzing, db):
    """The module's; what an operation's examples write is rolled back after its test."""
    return shared_fuzzing


def _report(failures: list[dict]) -> str:
    return "\n\n".join(
        f"{failure['operation']} as {failure['role']} -> {failure['status']}\n{failure['failure']}\n{failure['curl']}"
        for failure in failures
    )


def test_the_served_schema_has_every_operation(fuzzing):
    assert set(fuzzing.operations) == set(LABELS)
    assert len(fuzzing.operations) >= 25


def test_each_role_s_examples_are_sent_as_that_role_signed_in(fuzzing):
    """Staff sessions pass the second factor as staff do (tests/fuzz/api.py): without it every
    example of the coordinator and the welfare lead was a 401 before any view (until 6 December
    2026), and the coordinators' operations were fuzzed only as the dispatch system."""
    for role in ROLES:
        headers, cookies = fuzzing.credentials.of(role)
        browser = Client(headers=headers)
        for name, value in cookies.items():
            browser.cookies[name] = value

        session = browser.get("/api/v1/auth/session/")

        assert session.status_code == 200, (role, session.content)
        user = fuzzing.world.users[role]
        assert session.json()["authenticated"] is (user is not None), role
        if user is not None:
            assert session.json()["me"]["username"] == user.username


@pytest.mark.parametrize("operation_label", LABELS)
def test_no_server_error_and_no_response_that_breaks_the_schema(fuzzing, operation_label):
    with fuzzing.app as app:
        result = fuzz_operation(
            fuzzing.operations[operation_label],
            app,
            fuzzing.credentials,
            fuzzing.ids,
            examples_per_role=EXAMPLES_PER_ROLE,
            seed=SEED,
        )

    assert not result.failures, _report(result.failures)
    assert result.examples > 0
