"""Hazard H08 (docs/hazard-log.md): the after-call forms have nowhere to put a patient identifier.
The incident reference links a form to the ambulance record; the forms themselves hold no name,
date of birth, NHS number, address or phone number, and the patient's age only as a band."""

import re

import pytest

from backend.records.models import Attendance, Outcome, WelfareCheckIn

IDENTIFIER = re.compile(r"name|birth|dob|nhs|address|postcode|phone|email|what3words|latitude|longitude")


@pytest.mark.parametrize("model", [Attendance, Outcome, WelfareCheckIn])
def test_no_form_has_a_field_for_a_patient_identifier(model):
    fields = [field.name for field in model._meta.get_fields()]

    assert [name for name in fields if IDENTIFIER.search(name)] == []


def test_the_patients_age_is_a_band_and_never_a_number():
    age_fields = [field for field in Outcome._meta.get_fields() if "age" in field.name]

    assert [field.name for field in age_fields] == ["age_band"]
    assert age_fields[0].get_internal_type() == "CharField" and age_fields[0].choices
