"""The incident list's Accepted column counts everyone who accepted, and says how many withdrew.
Found by a browser trial: two firefighters accepted, one later withdrew (declined), and the column
said 1, beside "Going / needed" saying 1 / 1: it counted those who had not withdrawn. The boards
count a withdrawal as "accepted, then dropped out" (board-state.js)."""

import re

from django.urls import reverse

from backend.dispatch.actions import dispatch_incident, respond_to_alert
from tests.conftest import admin_client_for

CHANGELIST = "admin:dispatch_incident_changelist"


def column(response, name: str) -> list[str]:
    """The list's cells under the header `name`, as shown (whitespace collapsed)."""
    cl = response.context["cl"]
    names = [header["text"] for header in response.context["result_headers"]]
    at = names.index(name)
    rows = [[re.sub(r"<[^>]+>", "", str(cell)).strip() for cell in row] for row in response.context["results"]]
    assert len(rows) == len(cl.result_list)
    return [row[at] for row in rows]


def test_the_accepted_column_counts_who_accepted_and_says_who_withdrew(carol, alice, bob, incident):
    alerts = {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}
    respond_to_alert(actor=alice.user, alert_id=alerts["alice"].pk, response="accept")
    respond_to_alert(actor=bob.user, alert_id=alerts["bob"].pk, response="accept")
    respond_to_alert(actor=bob.user, alert_id=alerts["bob"].pk, response="decline", reason="no_transport")

    response = admin_client_for(carol).get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert column(response, "Accepted") == ["2 (1 withdrew)"]
    assert column(response, "Going / needed") == [f"1 / {incident.crew_target}"]


def test_the_accepted_column_is_a_plain_count_when_nobody_withdrew(carol, alice, bob, incident):
    alerts = {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}
    respond_to_alert(actor=alice.user, alert_id=alerts["alice"].pk, response="accept")

    response = admin_client_for(carol).get(reverse(CHANGELIST))

    assert column(response, "Accepted") == ["1"]
