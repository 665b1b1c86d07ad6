"""Coordinators read what crews recorded on scene, in the admin: on the incident's page and in a
list of their own. Nobody can add, change or delete an event there."""

import datetime
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backend.checklists.actions import record_onscene_event
from backend.checklists.models import OnSceneEvent
from backend.dispatch.actions import dispatch_incident
from tests.conftest import admin_client_for


@pytest.fixture
def coordinator(carol):
    client = admin_client_for(carol)
    return client


@pytest.fixture
def shock(incident, carol, alice):
    [alert] = dispatch_incident(actor=carol, incident_id=incident.pk)
    event, _ = record_onscene_event(
        actor=alice.user,
        alert_id=alert.pk,
        idempotency_key=uuid.uuid4(),
        type="shock",
        occurred_at=timezone.now() - datetime.timedelta(minutes=3),
        data={"shock_number": 2},
    )
    return event


def test_the_incident_page_shows_what_the_crew_tapped(coordinator, incident, shock):
    response = coordinator.get(reverse("admin:dispatch_incident_change", args=[incident.pk]))

    assert response.status_code == 200
    content = response.content.decode()
    assert "On scene: what the crews tapped on their checklists" in content
    assert "Shock delivered" in content and "shock number: 2" in content and "Alice" in content


def test_the_incident_page_says_when_nothing_was_recorded(coordinator, incident):
    content = coordinator.get(reverse("admin:dispatch_incident_change", args=[incident.pk])).content.decode()
    assert "Nothing recorded on scene yet." in content


def test_the_list_shows_every_event_read_only(coordinator, shock):
    response = coordinator.get(reverse("admin:checklists_onsceneevent_changelist"))

    assert response.status_code == 200
    assert "Shock delivered" in response.content.decode()
    assert "EEAST-0001" in response.content.decode()
    detail = coordinator.get(reverse("admin:checklists_onsceneevent_change", args=[shock.pk]))
    assert detail.status_code == 200
    assert not detail.context["has_change_permission"]


def test_nobody_can_add_change_or_delete_an_event_there(coordinator, shock):
    assert coordinator.get(reverse("admin:checklists_onsceneevent_add")).status_code == 403
    assert coordinator.post(reverse("admin:checklists_onsceneevent_change", args=[shock.pk]), {}).status_code == 403
    assert coordinator.post(reverse("admin:checklists_onsceneevent_delete", args=[shock.pk]), {}).status_code == 403
    assert OnSceneEvent.objects.get().data == {"shock_number": 2}


def test_a_firefighter_cannot_see_the_admin_list(alice, shock):
    client = Client()
    client.force_login(alice.user)
    response = client.get(reverse("admin:checklists_onsceneevent_changelist"))
    assert response.status_code == 302  # to the admin's login: not staff
