"""The audit trail's list says what each state change was (from → to), and its search finds entries
by what they are: "alarm" finds the alarm acknowledgements, "cancelled" the cancellations, "on
scene" the alerts that reached the scene. Found by a browser trial: the list showed "Alert state
changed" with no state, and searching "alarm" found nothing although alarm entries were there."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backend.dispatch.actions import cancel_incident, dispatch_incident, respond_to_alert
from backend.dispatch.alarms import acknowledge_alarm
from tests.conftest import admin_client_for

LIST = "admin:audit_auditentry_changelist"


@pytest.fixture
def story(carol, incident, alice, bob):
    """Alice accepts, goes and arrives; Bob declines; the unanswered alarm is acknowledged; then the
    incident is cancelled."""
    alerts = {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}
    for response in ("accept", "en_route", "on_scene"):
        respond_to_alert(actor=alice.user, alert_id=alerts["alice"].pk, response=response)
    respond_to_alert(actor=bob.user, alert_id=alerts["bob"].pk, response="decline", reason="unavailable")
    acknowledge_alarm(actor=carol, kind="unanswered", incident_id=incident.pk)
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")
    return alerts


def listed(client, **query):
    response = client.get(reverse(LIST), query)
    assert response.status_code == 200
    return response


def changes_of(response, object_type: str, object_id) -> list[str]:
    """The Change column of the listed entries about one object, oldest first."""
    changelist = response.context["cl"]
    admin = changelist.model_admin
    entries = [e for e in changelist.result_list if e.object_type == object_type and e.object_id == str(object_id)]
    return [admin.state_change(entry) for entry in reversed(entries)]


def test_the_list_shows_each_state_change_from_and_to(carol, story, incident):
    response = listed(admin_client_for(carol))

    assert changes_of(response, "alert", story["alice"].pk) == [
        "→ Alerted",
        "Alerted → Accepted",
        "Accepted → En route",
        "En route → On scene",
        "On scene → Incident cancelled",
    ]
    assert changes_of(response, "alert", story["bob"].pk) == ["→ Alerted", "Alerted → Declined"]
    assert changes_of(response, "incident", incident.pk)[-1] == "Open → Cancelled"
    page = response.content.decode()
    assert "<th" in page and "Change</" in page  # the column's heading
    assert "Accepted → En route" in page


def test_the_previous_states_cost_one_query_for_the_page(carol, story):
    client = admin_client_for(carol)
    listed(client)  # the session's first page settles its own queries
    with CaptureQueriesContext(connection) as first:
        listed(client)
    respond_to_alert(actor=story["bob"].responder.user, alert_id=story["bob"].pk, response="received")
    with CaptureQueriesContext(connection) as more:
        listed(client)
    assert len(more.captured_queries) == len(first.captured_queries)
    previous = [q["sql"] for q in first.captured_queries if '"object_id" IN' in q["sql"]]
    assert len(previous) == 1, "the previous states of the page's alerts, in one query"


def test_searching_alarm_finds_the_alarm_acknowledgements(carol, story):
    found = listed(admin_client_for(carol), q="alarm").context["cl"].result_list

    assert [entry.object_type for entry in found] == ["alarm_acknowledgement"]
    assert found[0].detail == {"kind": "unanswered"}


def test_searching_an_actions_words_finds_its_entries(carol, story, incident):
    client = admin_client_for(carol)

    cancelled = listed(client, q="Cancelled").context["cl"].result_list
    assert {(e.action, e.object_type) for e in cancelled} >= {("cancel", "incident")}
    state_changes = listed(client, q="alert state").context["cl"].result_list
    assert {e.action for e in state_changes} == {"alert_state"}
    assert len(state_changes) == 7  # two alerted, three of Alice's answers, Bob's, Alice's cancelled


def test_searching_a_state_finds_the_changes_to_it(carol, story):
    found = listed(admin_client_for(carol), q="on scene").context["cl"].result_list

    assert [(e.object_id, e.detail) for e in found] == [(str(story["alice"].pk), {"state": "on_scene"})]


def test_the_search_reads_no_json_for_words_that_name_no_state(carol, story):
    client = admin_client_for(carol)
    with CaptureQueriesContext(connection) as queries:
        listed(client, q="alarm")
    searches = [q["sql"] for q in queries.captured_queries if '"audit_auditentry"' in q["sql"] and "LIKE" in q["sql"]]
    assert searches
    assert not any('"detail"' in sql.split("WHERE", 1)[-1] for sql in searches)
