"""The frames and the stored events' documents are encoded by one JSON encoder made once, not a new
one each (json.dumps makes one for every call given an option such as the compact separators):
the CAD's call made three a firefighter alerted (issue 17 item 2). The same characters as before:
tests/realtime/test_event_reads.py holds each frame equal to json.dumps of its envelope."""

import json

import pytest
from django.test.utils import override_settings

from tests.api.test_dispatch_call_cost import big_station, create_and_dispatch  # noqa: F401 (a fixture)
from tests.conftest import token_client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_encoders_made_do_not_grow_with_the_alerted(cad, big_station, monkeypatch):  # noqa: F811
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    made = []
    original = json.JSONEncoder.__init__

    def counted(self, *args, **kwargs):
        made.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(json.JSONEncoder, "__init__", counted)
    counts = {}
    for alerted in (3, 12):
        made.clear()
        with override_settings(DISPATCH_MAX_RESPONDERS=alerted):
            body = create_and_dispatch(client, f"ENC-{alerted}")
        assert len(body["alerts"]) == alerted
        counts[alerted] = len(made)
    assert counts[3] == counts[12], counts  # was 27 more for 9 more alerted: their events, frames and board frames
