"""The server states how old a fix it takes may be (POSITION_MAX_AGE_SECONDS) in GET /api/v1/me/
(`responder.position_max_age_seconds`), so that the phone drops an older fix instead of sending it
to be refused (pwa/app/position.js serverMaxAgeSeconds; tests/js/position-stale-fix.test.mjs).
Found by a browser trial: a fix kept through minutes without signal was sent and refused (400)."""

import datetime

from django.utils import timezone

from tests.api.helpers import assert_error, assert_matches
from tests.conftest import client_for


def test_the_profile_states_the_limit_the_positions_are_refused_by(alice, settings):
    settings.POSITION_MAX_AGE_SECONDS = 60
    body = client_for(alice.user).get("/api/v1/me/").json()
    assert_matches("me", body)
    assert body["responder"]["position_max_age_seconds"] == 60

    # The same limit as the one a fix is refused by (the on-call fix: no alert needed).
    api = client_for(alice.user)
    assert api.patch("/api/v1/me/", {"share_position_on_call": True}, format="json").status_code == 200
    fix = {"latitude": 52.628, "longitude": 1.3, "accuracy_m": 8}
    at = timezone.now()
    older = (at - datetime.timedelta(seconds=75)).isoformat()
    younger = (at - datetime.timedelta(seconds=45)).isoformat()
    assert_error(
        api.put("/api/v1/me/position/", {**fix, "recorded_at": older}, format="json"), 400, field="recorded_at"
    )
    assert api.put("/api/v1/me/position/", {**fix, "recorded_at": younger}, format="json").status_code == 204
