"""The audit trail's search finds incidents by part of their CAD reference, as the incident list's
search does (found by trying the product: "T5-BOARD" found nothing in the trail while the incident
list found T5-BOARD-1): from 3 characters, and at most a capped number of incidents."""

from django.urls import reverse

from backend.dispatch import admin as dispatch_admin
from backend.dispatch.actions import create_incident
from tests.conftest import NORWICH_INCIDENT, admin_client_for


def make(carol, reference):
    return create_incident(
        actor=carol, cad_reference=reference, latitude=NORWICH_INCIDENT[0], longitude=NORWICH_INCIDENT[1], address="x"
    )


def found_incidents(client, term):
    entries = client.get(reverse("admin:audit_auditentry_changelist"), {"q": term}).context["cl"].result_list
    return {entry.incident_id for entry in entries}


def test_part_of_a_reference_finds_the_incidents_that_contain_it_in_any_case(carol):
    first, second, other = make(carol, "T5-BOARD-1"), make(carol, "T5-BOARD-2"), make(carol, "EEAST-0042")
    client = admin_client_for(carol)

    assert found_incidents(client, "t5-board") == {first.pk, second.pk}
    assert found_incidents(client, "EEAST-0042") == {other.pk}  # the whole reference, as before


def test_fewer_than_three_characters_match_only_a_whole_reference(carol):
    make(carol, "T5-BOARD-1")
    short = make(carol, "T5")

    assert set(dispatch_admin.incidents_by_cad_reference("T5")) == {short.pk}
    assert dispatch_admin.incidents_by_cad_reference("T") == []


def test_a_partial_match_is_capped_newest_first_with_the_whole_reference_kept(carol, monkeypatch):
    monkeypatch.setattr(dispatch_admin, "CAD_SEARCH_MAX_INCIDENTS", 3)
    exact = make(carol, "CAP")
    made = [make(carol, f"CAP-{n}") for n in range(5)]

    found = dispatch_admin.incidents_by_cad_reference("cap")

    assert found == [exact.pk, made[4].pk, made[3].pk]
