"""Schemathesis against /api/schema/, in process, as every role (tests/fuzz/api.py).

CI budget: EXAMPLES (100) requests per operation, shared out evenly over the roles (13 each for
8 roles), about a minute for the 35 operations. 100 for each role would be 8 times that (an
example costs about 20 ms in process), too long for CI: bench/fuzz_api.py does that, and more."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.fuzz.api import ROLES, Credentials, InProcessWSGI, fuzz_operation, label, load_schema, operations, real_ids
from tests.security.test_permission_matrix import RECORDS_MADE_FIRST, Entry, make_record_first
from tests.security.world import build_world, make_personas
from tests.support.database import once_per_module

EXAMPLES = 100
# Spread over the roles: 13 each for the 8 roles, 104 in all.
EXAMPLES_PER_ROLE = -(-EXAMPLES // len(ROLES))
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


def _build_world():
    world = build_world(**make_personas())
    for setup in ("alice's attendance", "erin's outcome"):
        assert setup in RECORDS_MADE_FIRST
        make_record_first(Entry("get", "", {}, setup=setup), world)
    return world


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker):
    """The permission matrix's world with records, built once for the module (tests/support/database.py)."""
    yield from once_per_module(django_db_blocker, _build_world)


@pytest.fixture
def world(shared_world, db):
    """The module's world; what an operation's examples write is rolled back after its test."""
    return shared_world


def _report(failures: list[dict]) -> str:
    return "\n\n".join(
        f"{failure['operation']} as {failure['role']} -> {failure['status']}\n{failure['failure']}\n{failure['curl']}"
        for failure in failures
    )


def test_the_served_schema_has_every_operation(db):
    with InProcessWSGI() as app:
        served = {label(operation) for operation in operations(load_schema(app))}

    assert served == set(LABELS)
    assert len(served) >= 25


@pytest.mark.parametrize("operation_label", LABELS)
def test_no_server_error_and_no_response_that_breaks_the_schema(world, operation_label):
    with InProcessWSGI() as app:
        operation = next(op for op in operations(load_schema(app)) if label(op) == operation_label)
        result = fuzz_operation(
            operation, app, Credentials(world), real_ids(world), examples_per_role=EXAMPLES_PER_ROLE
        )

    assert not result.failures, _report(result.failures)
    assert result.examples > 0
