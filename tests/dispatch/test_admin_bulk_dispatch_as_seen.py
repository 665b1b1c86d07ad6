"""The incident list's Dispatch action widens each incident once, as the incident's page does
(found by trying the product: two coordinators' lists widened the same incident twice). It first
shows each selected incident with its alerts as they are now; the confirmation sends, per
incident, the count it showed; one alerted more since is refused, by name, and the others are
dispatched."""

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from backend.dispatch.actions import create_incident, dispatch_incident
from backend.dispatch.models import Alert, Incident
from tests.conftest import KINGS_LYNN, admin_client_for

CHANGELIST = reverse("admin:dispatch_incident_changelist")


@pytest.fixture
def coordinator(carol):
    return admin_client_for(carol)


@pytest.fixture
def lynn_incident(carol):
    return create_incident(
        actor=carol,
        cad_reference="EEAST-0002",
        latitude=KINGS_LYNN[0],
        longitude=KINGS_LYNN[1],
        address="1 Quay, King's Lynn",
    )


def select_for_dispatch(client, *incidents):
    """The list's action on the incidents ticked, as the list posts it."""
    return client.post(
        CHANGELIST,
        {"action": "dispatch_incidents", "_selected_action": [incident.pk for incident in incidents], "index": 0},
    )


def confirmation_fields(page: str) -> list[tuple[str, str]]:
    """The confirmation form's hidden fields, as the browser would post them."""
    form = re.search(r'<form method="post">.*?</form>', page, re.S).group(0)
    fields = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form)
    return [(name, value) for name, value in fields if name != "csrfmiddlewaretoken"]


def post(client, fields: list[tuple[str, str]]):
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return client.post(CHANGELIST, data)


def test_an_incident_alerted_more_since_the_page_is_refused_by_name_and_the_others_dispatched(
    coordinator, carol, incident, lynn_incident, alice, bob, charlie, dave, settings
):
    settings.DISPATCH_RADIUS_KM = 5  # Norwich's two in ring 1; Great Yarmouth's in the next
    settings.DISPATCH_NEXT_RINGS_KM = [40, 80]
    dispatch_incident(actor=carol, incident_id=incident.pk)

    page = select_for_dispatch(coordinator, incident, lynn_incident)

    assert page.status_code == 200, "the action asks first, showing each incident's alerts now"
    assert not Alert.objects.filter(incident=lynn_incident).exists()
    content = page.content.decode()
    assert "EEAST-0001" in content and "EEAST-0002" in content and "Dispatch next ring" in content
    fields = confirmation_fields(content)
    assert (f"seen_alerts_{incident.pk}", "2") in fields and (f"seen_alerts_{lynn_incident.pk}", "0") in fields

    dispatch_incident(actor=carol, incident_id=incident.pk, seen_alerts=2)  # another coordinator widens it
    ring = Incident.objects.get(pk=incident.pk).ring

    response = post(coordinator, fields)

    assert response.status_code == 302
    shown = {message.level_tag: str(message) for message in get_messages(response.wsgi_request)}
    assert shown["error"].startswith("EEAST-0001: ") and "since your screen showed it" in shown["error"]
    assert shown["success"].startswith("EEAST-0002: 1 responder alerted: Dave")
    assert Alert.objects.filter(incident=incident).count() == 3
    assert Incident.objects.get(pk=incident.pk).ring == ring
    assert Alert.objects.filter(incident=lynn_incident).count() == 1


def test_a_confirmation_without_an_incidents_count_dispatches_nothing_for_it(coordinator, incident, alice):
    response = coordinator.post(
        CHANGELIST, {"action": "dispatch_incidents", "_selected_action": [incident.pk], "confirm": "yes"}
    )

    assert response.status_code == 302
    [message] = get_messages(response.wsgi_request)
    assert message.level_tag == "error" and str(message).startswith("EEAST-0001: not dispatched")
    assert not Alert.objects.exists()
