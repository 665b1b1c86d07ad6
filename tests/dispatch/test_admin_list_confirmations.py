"""The incident list's actions that change crews ask first, showing each incident as it is now.

Close: found by trying the product, ticking an incident with a crew on scene doing CPR and pressing
Go closed it at once and cleared the crew. It now shows what closing will do to each person (as the
board asks "Close T7-3? Anyone still going is stood down; anyone on scene is cleared."), and closes
only on the confirmation. Dispatch: its page shows whether each incident is covered already, so
that a covered incident is not widened by mistake."""

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from backend.dispatch.actions import (
    cancel_incident,
    close_incident,
    create_incident,
    dispatch_incident,
    respond_to_alert,
)
from backend.dispatch.models import Alert, Incident, IncidentStatus
from tests.conftest import KINGS_LYNN, admin_client_for

CHANGELIST = reverse("admin:dispatch_incident_changelist")


@pytest.fixture
def coordinator(carol):
    return admin_client_for(carol)


@pytest.fixture
def alerts(incident, carol, alice, bob, charlie, settings):
    settings.DISPATCH_RADIUS_KM = 40  # Norwich's Alice and Bob, Great Yarmouth's Charlie
    return {alert.responder.user.username: alert for alert in dispatch_incident(actor=carol, incident_id=incident.pk)}


def answer(responder, alert, *responses):
    for response in responses:
        respond_to_alert(actor=responder.user, alert_id=alert.pk, response=response)


def select(client, action, *incidents):
    """The list's action on the incidents ticked, as the list posts it."""
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [incident.pk for incident in incidents], "index": 0}
    )


def confirmation_fields(page: str) -> dict[str, list[str]]:
    """The confirmation form's hidden fields, as the browser would post them."""
    form = re.search(r'<form method="post">.*?</form>', page, re.S).group(0)
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form):
        if name != "csrfmiddlewaretoken":
            fields.setdefault(name, []).append(value)
    return fields


def states() -> dict[str, str]:
    return {alert.responder.user.username: alert.state for alert in Alert.objects.select_related("responder__user")}


def test_close_first_shows_what_it_will_do_to_each_person_then_closes_on_the_confirmation(
    coordinator, incident, alerts, alice, bob, charlie
):
    answer(alice, alerts["alice"], "accept", "on_scene")  # doing CPR
    answer(bob, alerts["bob"], "accept", "en_route")

    page = select(coordinator, "close_incidents", incident)

    assert page.status_code == 200, "the action asks first"
    assert page.templates[0].name == "admin/dispatch/incident/close_confirmation.html"
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.OPEN
    assert states() == {"alice": "on_scene", "bob": "en_route", "charlie": "alerted"}
    content = page.content.decode()
    assert "EEAST-0001" in content
    assert "<strong>Cleared from the scene:</strong> Alice (on scene)" in content
    assert "<strong>Stood down while going:</strong> Bob (en route)" in content
    assert "<strong>Stood down before answering:</strong> Charlie (alerted)" in content
    assert "No, take me back" in content
    fields = confirmation_fields(content)
    assert fields == {"_selected_action": [str(incident.pk)], "action": ["close_incidents"], "confirm": ["yes"]}

    response = coordinator.post(CHANGELIST, fields)

    assert response.status_code == 302
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.CLOSED
    assert states() == {"alice": "cleared", "bob": "stood_down", "charlie": "stood_down"}
    [message] = get_messages(response.wsgi_request)
    assert str(message).startswith("EEAST-0001: closed")


def test_the_close_page_says_when_closing_changes_nobody_and_when_an_incident_is_not_open(coordinator, carol, incident):
    ended = create_incident(
        actor=carol, cad_reference="EEAST-0002", latitude=KINGS_LYNN[0], longitude=KINGS_LYNN[1], address="1 Quay"
    )
    close_incident(actor=carol, incident_id=ended.pk)

    content = select(coordinator, "close_incidents", incident, ended).content.decode()

    assert "Nobody is alerted or going: nobody's state changes" in content
    assert "Nothing: not open" in content
    assert 'value="Close the incident"' in content, "the button counts only the open one"
    assert confirmation_fields(content)["_selected_action"] == [str(incident.pk)], "and posts only it"


def test_the_close_page_offers_no_close_when_nothing_selected_is_open(coordinator, carol, incident):
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Duplicate call")

    content = select(coordinator, "close_incidents", incident).content.decode()

    assert "Nothing: not open" in content
    assert 'value="Close the incident' not in content, "found by a trial: offered for a cancelled one"
    assert 'name="confirm"' not in content
    assert "None of this is open: there is nothing to close." in content


def test_the_incident_page_close_button_asks_first(coordinator, incident):
    page = coordinator.get(reverse("admin:dispatch_incident_change", args=[incident.pk])).content.decode()

    close_url = reverse("admin:dispatch_incident_close", args=[incident.pk])
    form = re.search(rf'<form method="post" action="{close_url}"[^>]*>', page).group(0)
    assert 'data-confirm="Close EEAST-0001?' in form and 'class="incident-tool"' in form
    assert "dispatch/incident_tools.js" in page  # asks with the form's data-confirm before it posts


def test_the_dispatch_page_shows_whether_each_incident_is_covered(coordinator, carol, incident, alerts, alice, bob):
    answer(alice, alerts["alice"], "accept")
    answer(bob, alerts["bob"], "accept", "en_route")
    short = create_incident(
        actor=carol, cad_reference="EEAST-0002", latitude=KINGS_LYNN[0], longitude=KINGS_LYNN[1], address="1 Quay"
    )

    content = select(coordinator, "dispatch_incidents", incident, short).content.decode()

    assert '<th scope="col">Going</th>' in content
    assert "<td>2 going (2 needed): covered</td>" in content
    assert "<td>0 going (2 needed): 2 more needed</td>" in content
