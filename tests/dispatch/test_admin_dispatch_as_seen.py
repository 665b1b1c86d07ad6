"""The incident page's dispatch button widens once, as the board's does (found by a browser trial:
coordinator 1's page, opened after the first dispatch, widened straight to ring 3 after
coordinator 2 had widened to ring 2 from the board). The page sends how many alerts it showed; if
more exist, an error message and no dispatch. Its button says what it will do."""

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from backend.dispatch.actions import dispatch_incident
from backend.dispatch.models import Alert, Incident
from tests.conftest import admin_client_for


def change_url(incident):
    return reverse("admin:dispatch_incident_change", args=[incident.pk])


def dispatch_form(page: str) -> dict:
    """The dispatch button's form as the page has it: its hidden fields and its button's words."""
    form = re.search(r'<form method="post" action="[^"]*/dispatch/".*?</form>', page, re.S).group(0)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    fields.pop("csrfmiddlewaretoken", None)
    return {"fields": fields, "button": re.search(r"<button[^>]*>([^<]*)</button>", form).group(1)}


@pytest.fixture
def coordinator(carol):
    return admin_client_for(carol)


def test_a_second_coordinators_dispatch_since_the_page_was_shown_is_refused(
    coordinator, carol, incident, alice, bob, charlie, settings
):
    settings.DISPATCH_RADIUS_KM = 5  # Norwich's two in ring 1; Great Yarmouth's in the next
    settings.DISPATCH_NEXT_RINGS_KM = [40, 80]
    dispatch_incident(actor=carol, incident_id=incident.pk)
    shown = dispatch_form(coordinator.get(change_url(incident)).content.decode())
    assert shown == {"fields": {"seen_alerts": "2"}, "button": "Dispatch next ring"}

    dispatch_incident(actor=carol, incident_id=incident.pk, seen_alerts=2)  # the other coordinator's board
    assert Alert.objects.count() == 3
    ring = Incident.objects.get(pk=incident.pk).ring

    response = coordinator.post(reverse("admin:dispatch_incident_dispatch", args=[incident.pk]), shown["fields"])

    assert response.status_code == 302
    [message] = get_messages(response.wsgi_request)
    assert message.level_tag == "error"
    assert "since your screen showed it" in str(message)
    assert Alert.objects.count() == 3
    assert Incident.objects.get(pk=incident.pk).ring == ring


def test_the_button_says_what_it_will_do(coordinator, carol, incident, alice, settings):
    settings.DISPATCH_NEXT_RINGS_KM = []
    assert dispatch_form(coordinator.get(change_url(incident)).content.decode()) == {
        "fields": {"seen_alerts": "0"},
        "button": "Dispatch nearest responders",
    }
    dispatch_incident(actor=carol, incident_id=incident.pk)
    # No wider ring: the dispatch looks again within the widest one.
    assert dispatch_form(coordinator.get(change_url(incident)).content.decode())["button"] == "Look again (widest ring)"


def test_the_pages_count_as_it_showed_it_dispatches(coordinator, incident, alice, bob):
    page = coordinator.get(change_url(incident)).content.decode()

    response = coordinator.post(
        reverse("admin:dispatch_incident_dispatch", args=[incident.pk]), dispatch_form(page)["fields"]
    )

    assert response.status_code == 302
    assert Alert.objects.count() == 2


def test_a_count_not_understood_dispatches_nothing(coordinator, incident, alice):
    response = coordinator.post(reverse("admin:dispatch_incident_dispatch", args=[incident.pk]), {"seen_alerts": "x"})

    [message] = get_messages(response.wsgi_request)
    assert message.level_tag == "error" and "reload" in str(message)
    assert not Alert.objects.exists()
