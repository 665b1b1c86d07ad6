"""/api/v1/postcodes/{postcode}/: coordinators find where a postcode is, in any spacing or case."""

import pytest

from backend.postcodes.models import Postcode
from tests.api.helpers import assert_error, assert_matches
from tests.conftest import client_for, token_client_for


@pytest.fixture
def nr2(db):
    return Postcode.objects.create(code="NR21TF", postcode="NR2 1TF", latitude=52.6328, longitude=1.2916)


@pytest.mark.parametrize("typed", ["NR2 1TF", "nr21tf", "Nr2%20%201tF", "%20NR2%201TF%20"])
def test_a_coordinator_finds_a_postcode_however_it_is_typed(nr2, carol, typed):
    response = client_for(carol).get(f"/api/v1/postcodes/{typed}/")
    assert response.status_code == 200, response.content
    assert_matches("postcode", response.json())
    assert response.json() == {"postcode": "NR2 1TF", "latitude": 52.6328, "longitude": 1.2916, "terminated": ""}


@pytest.mark.parametrize("typed", ["NR2 9ZZ", "not a postcode", "12345", "NR2-1TF"])
def test_an_unknown_postcode_is_404_unknown_postcode(nr2, carol, typed):
    assert_error(client_for(carol).get(f"/api/v1/postcodes/{typed}/"), 404, "unknown_postcode")


@pytest.mark.parametrize("who", ["alice", "cad", "wendy", "nobody"])
def test_only_coordinators_may_look_up(nr2, request, who):
    user = request.getfixturevalue(who)
    user = getattr(user, "user", user)
    client = token_client_for(user) if who == "cad" else client_for(user)
    assert_error(client.get("/api/v1/postcodes/NR21TF/"), 403)


def test_an_anonymous_caller_is_refused(nr2, api):
    assert api.get("/api/v1/postcodes/NR21TF/").status_code in (401, 403)
