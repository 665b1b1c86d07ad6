"""An action on an incident that has ended is refused in words that say how it ended, when and by
whom, and then what cannot be done. Found by a browser trial: closing a cancelled incident said it
"is already cancelled; it cannot be closed again", as if it had been closed."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import formats, timezone

from backend.dispatch.actions import (
    cancel_incident,
    close_incident,
    dispatch_incident,
    set_ambulance_eta,
    stand_down,
)
from backend.dispatch.models import Incident
from backend.errors import Conflict
from backend.roles import COORDINATORS
from tests.conftest import admin_client_for


@pytest.fixture
def jordan(db):
    """A second coordinator, who ended the incident."""
    user = get_user_model().objects.create_user(
        username="jordan", first_name="Jordan", last_name="Reeve", is_staff=True
    )
    user.groups.add(Group.objects.get(name=COORDINATORS))
    return user


def ended_at(incident) -> str:
    incident = Incident.objects.get(pk=incident.pk)
    return formats.time_format(timezone.localtime(incident.cancelled_at or incident.closed_at), "H:i")


def refusal(action) -> str:
    with pytest.raises(Conflict) as error:
        action()
    return error.value.message


def test_closing_a_cancelled_incident_says_it_was_cancelled_when_and_by_whom(incident, carol, jordan):
    cancel_incident(actor=jordan, incident_id=incident.pk, reason="Ambulance on scene")

    said = refusal(lambda: close_incident(actor=carol, incident_id=incident.pk))

    at = ended_at(incident)
    assert said == f"EEAST-0001 was cancelled at {at} by Jordan Reeve: a cancelled incident cannot be closed."
    assert "again" not in said


def test_cancelling_a_closed_incident_says_it_was_closed(incident, carol, jordan):
    close_incident(actor=jordan, incident_id=incident.pk)

    said = refusal(lambda: cancel_incident(actor=carol, incident_id=incident.pk, reason="Hoax"))

    at = ended_at(incident)
    assert said == f"EEAST-0001 was closed at {at} by Jordan Reeve: a closed incident cannot be cancelled."


@pytest.mark.parametrize("ending", ["cancelled", "closed"])
def test_ending_it_the_same_way_twice_says_again(incident, carol, jordan, ending):
    end = {
        "cancelled": lambda actor: cancel_incident(actor=actor, incident_id=incident.pk, reason="Hoax"),
        "closed": lambda actor: close_incident(actor=actor, incident_id=incident.pk),
    }[ending]
    end(jordan)

    said = refusal(lambda: end(carol))

    assert said == f"EEAST-0001 was {ending} at {ended_at(incident)} by Jordan Reeve: it cannot be {ending} again."


@pytest.mark.parametrize("ending", ["cancelled", "closed"])
def test_every_other_action_says_how_it_ended(incident, carol, jordan, ending):
    if ending == "cancelled":
        cancel_incident(actor=jordan, incident_id=incident.pk, reason="Hoax")
    else:
        close_incident(actor=jordan, incident_id=incident.pk)
    ended = f"EEAST-0001 was {ending} at {ended_at(incident)} by Jordan Reeve: "

    assert refusal(lambda: dispatch_incident(actor=carol, incident_id=incident.pk)) == (
        f"{ended}a {ending} incident cannot be dispatched."
    )
    assert refusal(lambda: stand_down(actor=carol, incident_id=incident.pk)) == f"{ended}there is nobody to stand down."
    assert refusal(lambda: set_ambulance_eta(actor=carol, incident_id=incident.pk, ambulance_eta=None)) == (
        f"{ended}its ambulance's arrival no longer matters."
    )


def test_an_incident_that_ended_another_day_gives_the_date(incident, carol, jordan):
    cancel_incident(actor=jordan, incident_id=incident.pk, reason="Hoax")
    long_ago = timezone.now() - datetime.timedelta(days=3)
    Incident.objects.filter(pk=incident.pk).update(cancelled_at=long_ago)
    local = timezone.localtime(long_ago)

    said = refusal(lambda: close_incident(actor=carol, incident_id=incident.pk))

    day = formats.date_format(local, "j M Y")
    assert said.startswith(f"EEAST-0001 was cancelled on {day} at {local:%H:%M} by Jordan Reeve: ")


def test_without_a_record_of_who_it_says_when(incident, carol):
    """An incident ended before the audit trail named who ended it (or by the system) says when only."""
    Incident.objects.filter(pk=incident.pk).update(status="closed", closed_at=timezone.now())

    said = refusal(lambda: close_incident(actor=carol, incident_id=incident.pk))

    assert said == f"EEAST-0001 was closed at {ended_at(incident)}: it cannot be closed again."


def test_the_admins_close_button_on_a_cancelled_incident_says_so_once(incident, carol, jordan):
    cancel_incident(actor=jordan, incident_id=incident.pk, reason="Ambulance on scene")
    client = admin_client_for(carol)

    response = client.post(reverse("admin:dispatch_incident_close", args=[incident.pk]))

    assert response.status_code == 302
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        f"EEAST-0001 was cancelled at {ended_at(incident)} by Jordan Reeve: a cancelled incident cannot be closed."
    ]
