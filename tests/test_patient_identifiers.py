"""backend/patient_identifiers.py: which free text holds an NHS number or a date of birth (refused
in the records' text and the messages to crews), and which does not (postcodes, ages, times)."""

import pytest

from backend.patient_identifiers import DATE_OF_BIRTH, NHS_NUMBER, identifier_in, is_nhs_number, refusal

# 943 476 5919: 9x10 + 4x9 + 3x8 + 4x7 + 7x6 + 6x5 + 5x4 + 9x3 + 1x2 = 299; 299 mod 11 = 2; 11 - 2 = 9.
VALID = ["9434765919", "4010232137", "4857773457"]


@pytest.mark.parametrize("digits", VALID)
def test_it_accepts_a_number_whose_check_digit_is_right(digits):
    assert is_nhs_number(digits)


@pytest.mark.parametrize(
    "digits",
    [
        "9434765918",  # the check digit is 9
        "4010232138",
        "1234567890",  # the first nine give 10: no NHS number ends so
        "1000000010",  # the same
        "943476591",  # nine digits
        "94347659190",  # eleven
        "943476591x",
        "\uff19\uff14\uff13\uff14\uff17\uff16\uff15\uff19\uff11\uff19",  # full-width digits
    ],
)
def test_it_refuses_a_wrong_check_digit_or_length(digits):
    assert not is_nhs_number(digits)


def test_a_remainder_of_0_gives_check_digit_0():
    # 000000000 sums to 0: 11 - 0 = 11, which stands for 0.
    assert is_nhs_number("0000000000")


@pytest.mark.parametrize(
    "text",
    [
        "NHS no 943 476 5919",
        "9434765919",
        "nhs: 943-476-5919",
        "943 4765919 per the daughter",
        "(943\u00a0476\u00a05919)",
        "Mrs Jane Smith, 12 Regent Road NR30 1AA, DOB 01/02/1950, NHS no 943 476 5919",
    ],
)
def test_it_finds_an_nhs_number_together_or_spaced_3_3_4(text):
    assert identifier_in(text) == NHS_NUMBER


@pytest.mark.parametrize(
    "text",
    [
        "NHS no 943 476 5918",  # a wrong check digit
        "94 34 76 59 19",  # not grouped 3-3-4
        "943  476  5919",  # two spaces: not how the number is written
        "Ref 94347659190",  # part of a longer number
        "Call 01603 123456 or 07700 900123",  # phone numbers
    ],
)
def test_it_leaves_numbers_that_are_not_nhs_numbers(text):
    assert identifier_in(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "DOB 01/02/1950",
        "dob:1/2/50",
        "D.O.B. 01.02.1950",
        "Date of birth 1950-02-01",
        "date of birth is 01-02-1950",
        "born 1st February 1950",
        "Born on the 1st of Feb 1950",
        "born February 1, 1950",
        "DOB - 1 Feb 50",
    ],
)
def test_it_finds_a_date_of_birth(text):
    assert identifier_in(text) == DATE_OF_BIRTH


@pytest.mark.parametrize(
    "text",
    [
        "RV at NR30 1AA, Regent Road car park",  # a rendezvous postcode
        "Patient aged 67",
        "67 year old male, born in 1957",  # an age, and a year on its own
        "Collapsed 01/02/2025 at 14:05, CPR by daughter",  # a date that is not a birth
        "DOB not known",
        "Newborn? No: adult",
        "Stubborn access: rear door",
        "",
    ],
)
def test_it_leaves_postcodes_ages_and_other_dates(text):
    assert identifier_in(text) is None


def test_the_refusal_names_the_identifier_and_the_field():
    assert refusal("NHS no 943 476 5919", what="notes") == (
        "This looks like a patient's NHS number: notes must not identify the patient."
    )
    assert refusal("DOB 01/02/1950", what="a message to crews") == (
        "This looks like a patient's date of birth: a message to crews must not identify the patient."
    )
    assert refusal("Ambulance on scene", what="notes") is None
