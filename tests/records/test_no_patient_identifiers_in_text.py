"""Free text in the after-call records (notes, the appliance, the reason for a change) is refused
when it holds an NHS number or a date of birth, with a message on the field (the app shows it
next to the field); postcodes and ages are kept. The tester's attendance notes were saved."""

import uuid

import pytest
from django.urls import reverse

from backend.records.models import Amendment, Attendance, Outcome, WelfareCheckIn
from tests.api.helpers import assert_error
from tests.conftest import admin_client_for, client_for
from tests.records.conftest import body, submit, valid_outcome
from tests.records.test_records_admin import _initial_post_data

TESTERS_NOTES = "Mrs Jane Smith, 12 Regent Road NR30 1AA, DOB 01/02/1950, NHS no 943 476 5919"
NHS_NUMBER = "This looks like a patient's NHS number: notes must not identify the patient."
DATE_OF_BIRTH = "This looks like a patient's date of birth: notes must not identify the patient."


def url(alert, kind="attendance") -> str:
    return f"/api/v1/alerts/{alert.pk}/{kind}/"


def test_the_testers_attendance_notes_are_refused_on_the_notes(alice_alert, alice):
    response = client_for(alice.user).post(url(alice_alert), body(attended=True, notes=TESTERS_NOTES), format="json")
    error = assert_error(response, 400, "invalid", field="notes")
    assert error["fields"] == {"notes": [NHS_NUMBER]}
    assert not Attendance.objects.exists()


@pytest.mark.parametrize(
    ("kind", "fields", "model"),
    [
        ("outcome", valid_outcome(notes="Daughter gave DOB 1.2.50"), Outcome),
        ("welfare", {"impact": 2, "notes": "Patient born 1st February 1950, same as my dad"}, WelfareCheckIn),
    ],
)
def test_outcome_and_welfare_notes_are_checked_too(erin_alert, erin, kind, fields, model):
    response = client_for(erin.user).post(url(erin_alert, kind), body(**fields), format="json")
    assert assert_error(response, 400, field="notes")["fields"] == {"notes": [DATE_OF_BIRTH]}
    assert not model.objects.exists()


def test_the_appliance_is_checked_and_named(alice_alert, alice):
    response = client_for(alice.user).post(url(alice_alert), body(attended=True, appliance="9434765919"), format="json")
    assert assert_error(response, 400, field="appliance")["fields"] == {
        "appliance": ["This looks like a patient's NHS number: the appliance must not identify the patient."]
    }


def test_a_rendezvous_postcode_an_age_and_the_times_are_kept(alice_alert, alice):
    notes = "Met the ambulance at NR30 1AA. Male aged 67, collapsed 14:05 on 01/02/2025. Call 01493 123456."
    response = client_for(alice.user).post(url(alice_alert), body(attended=True, notes=notes), format="json")
    assert response.status_code == 201, response.content
    assert Attendance.objects.get().notes == notes


def test_a_change_is_checked_and_so_is_its_reason(alice_alert, alice):
    client = client_for(alice.user)
    client.post(url(alice_alert), body(attended=True), format="json")
    refused = client.patch(
        url(alice_alert), body(notes="NHS 943-476-5919", reason="Added the NHS number"), format="json"
    )
    assert assert_error(refused, 400, field="notes")["fields"] == {"notes": [NHS_NUMBER]}
    reason = client.patch(url(alice_alert), body(appliance="21P2", reason="Her DOB is 01/02/1950"), format="json")
    assert assert_error(reason, 400, field="reason")["fields"] == {
        "reason": ["This looks like a patient's date of birth: the reason must not identify the patient."]
    }
    assert (Attendance.objects.get().version, Amendment.objects.count()) == (1, 0)


def test_a_coordinators_amendment_in_the_admin_is_refused_on_its_field(alice_alert, carol):
    attendance = submit(alice_alert, attended=True)[0]
    client = admin_client_for(carol)
    page = reverse("admin:records_attendance_amend", args=[attendance.pk])
    data = {
        **_initial_post_data(client.get(page).context["form"]),
        "idempotency_key": str(uuid.uuid4()),
        "notes": "NHS no 9434765919",
        "reason": "Adding what the ambulance crew said",
    }
    response = client.post(page, data)
    assert response.status_code == 200
    assert response.context["form"].errors["notes"] == [NHS_NUMBER]
    assert Attendance.objects.get().notes == ""
