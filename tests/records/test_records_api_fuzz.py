"""Schemathesis against the records endpoints as /api/schema/ describes them: whatever it sends,
no server error, and every response has the documented status and shape. The alert in the path is
the crew lead's own accepted alert, so the forms are really reached, not just refused with 404."""

import itertools
import os

import hypothesis
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from knox.models import AuthToken

from tests.records.conftest import accept

EXAMPLES = int(os.environ.get("RECORDS_FUZZ_EXAMPLES", "25"))
RECORD_PATHS = r"^/api/v1/(alerts/\{alert_id\}/(attendance|outcome|welfare)/|records/|welfare-check-ins/)"


# No server error; the documented status, content type, headers and body; input the schema says
# is invalid is refused. (Not "valid input is accepted": the forms' cross-field rules, such as times
# in order, refuse input that each field's schema allows. Not "ignored auth": our token replaces
# whatever auth Schemathesis generates.)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.negative_data_rejection,
]


@pytest.fixture
def records_api(db):
    # Schemathesis calls the WSGI handler itself, whose request signals would close the test's
    # database connection in the middle of its transaction (Django's test client avoids the same).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield _records_schema()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _records_schema():
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())
    return schema.include(path_regex=RECORD_PATHS)


@pytest.fixture
def fuzz_world(alerts, erin, carol):
    alert = accept(alerts["erin"])
    _, token = AuthToken.objects.create(user=erin.user, expiry=None)
    return {"alert_id": alert.pk, "headers": {"Authorization": f"Token {token}"}}


def test_the_records_api_keeps_to_its_schema(records_api, fuzz_world):
    operations = [result.ok() for result in records_api.get_all_operations()]
    assert len(operations) == 13  # GET, POST and PATCH of three forms, two lists, two amends
    runs = [
        (operation, mode)
        for operation, mode in itertools.product(operations, schemathesis.GenerationMode)
        if mode == schemathesis.GenerationMode.POSITIVE or operation.method.upper() in ("POST", "PATCH")
    ]
    for operation, mode in runs:

        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis.settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(hypothesis.HealthCheck), derandomize=True
        )
        def keeps_to_the_schema(case):
            if "alert_id" in (case.path_parameters or {}):
                case.path_parameters["alert_id"] = fuzz_world["alert_id"]
            response = case.call(headers=fuzz_world["headers"])
            case.validate_response(response, checks=CHECKS)

        keeps_to_the_schema()
