"""Trial 12: the board's "Alert named" list read "Alex Cole … on T12-C" with nothing of his having
logged out of the app, though his rows on the board said "logged out at 02:08:15". The candidates now
carry `logged_out_at`, which the dialog says as the rows do (tests/js/board-trial12-faults.test.mjs),
and the admin's form says it too."""

import datetime

from django.urls import reverse
from django.utils import timezone

from backend.accounts.models import Responder
from backend.dispatch.actions import dispatch_incident
from backend.dispatch.admin import AlertNamedForm
from tests.api.helpers import assert_matches
from tests.conftest import admin_client_for
from tests.dispatch.test_named_refusals import coordinator_api


def test_a_candidate_logged_out_of_the_app_is_listed_with_when(carol, incident, alice, bob, charlie):
    dispatch_incident(actor=carol, incident_id=incident.pk, responder_ids=[alice.pk])
    when = timezone.now().replace(microsecond=0) - datetime.timedelta(minutes=5)
    Responder.objects.filter(pk=charlie.pk).update(logged_out_at=when)

    response = coordinator_api(carol).get(f"/api/v1/incidents/{incident.pk}/named-candidates/")

    assert response.status_code == 200
    assert_matches("named_candidates", response.json())
    listed = {item["id"]: item for item in response.json()["responders"]}
    assert listed[charlie.pk]["logged_out_at"] == when.isoformat()
    assert listed[bob.pk]["logged_out_at"] is None

    labels = dict(AlertNamedForm(incident=incident).fields["responder"].choices)
    assert labels[charlie.pk].endswith(f", logged out at {timezone.localtime(when):%H:%M:%S}")
    assert "logged out" not in labels[bob.pk]
    page = admin_client_for(carol).get(reverse("admin:dispatch_incident_alert_named", args=[incident.pk]))
    assert f"logged out at {timezone.localtime(when):%H:%M:%S}" in page.content.decode()
