"""Patient identifiers in free text: the one check shared by the after-call records' text (notes,
the appliance, the reason for a change: backend/records/validation.py and actions.py) and the
coordinators' messages to crews (backend/dispatch/messages.py). Text holding an NHS number or a
date of birth is refused with a message naming the field, so that nothing identifying a patient
is stored beside the incident reference or sent to every crew of an incident (hazard H08).

Only what a pattern can tell with few false alarms:

- an NHS number: 10 digits, together or spaced 3-3-4 (by a space or a hyphen), not part of a
  longer number, whose last digit is the modulus 11 check digit of the other nine (NHS Data
  Dictionary, "NHS number"). About one 10-digit number in 11 passes the check by chance.
- a date of birth: "DOB", "D.O.B.", "date of birth" or "born", then a whole date (01/02/1950,
  1.2.50, 1950-02-01, 1st February 1950, Feb 1 1950).

Not refused: postcodes (crews send rendezvous points), ages ("aged 67": the forms keep an age
band), dates on their own (the times of the call), phone numbers (11 digits in the UK). Names and
house addresses are not caught: a pattern cannot tell a patient's name from a colleague's or a
street's, so the forms' hints still ask for none.
"""

import re

NHS_NUMBER = "NHS number"
DATE_OF_BIRTH = "date of birth"

# Ten digits in the groups 3-3-4, each gap empty, a space, a no-break space or a hyphen; not
# touching another digit (so not a piece of a longer number).
_TEN_DIGITS = re.compile(r"(?<![0-9])([0-9]{3})[ \u00a0-]?([0-9]{3})[ \u00a0-]?([0-9]{4})(?![0-9])")

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ORDINAL = r"[0-9]{1,2}(?:st|nd|rd|th)?"
_DATE = (
    r"(?:"
    r"[0-9]{1,2}\s?[/.-]\s?[0-9]{1,2}\s?[/.-]\s?[0-9]{2,4}"  # 01/02/1950, 1.2.50, 01-02-1950
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"  # 1950-02-01
    rf"|{_ORDINAL}\s+(?:of\s+)?{_MONTH},?\s+[0-9]{{2,4}}"  # 1st February 1950, 1 Feb 50
    rf"|{_MONTH}\s+{_ORDINAL},?\s+[0-9]{{2,4}}"  # February 1, 1950
    r")(?![0-9])"
)
_SAYS_BIRTH = r"(?:\bd\.?\s?o\.?\s?b\b\.?|\bdate\s+of\s+birth\b|\bborn\b)"
# The words that may come between: "DOB: 01/02/1950", "born on 1 Feb 1950", "date of birth is ...".
_BETWEEN = r"[\s:;,=-]*(?:(?:is|was|on)\s+)?(?:the\s+)?"
_DATE_OF_BIRTH = re.compile(_SAYS_BIRTH + _BETWEEN + _DATE, re.IGNORECASE)


def is_nhs_number(digits: str) -> bool:
    """Ten digits whose last is the modulus 11 check digit of the first nine: each multiplied by
    10 down to 2, the sum's remainder by 11 taken from 11 (11 is 0; 10 is never a valid number)."""
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(digits[:9], range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return check != 10 and check == int(digits[9])


def identifier_in(text: str) -> str | None:
    """The kind of patient identifier the text seems to hold (NHS_NUMBER or DATE_OF_BIRTH), or None."""
    if not isinstance(text, str):
        return None
    if any(is_nhs_number("".join(match.groups())) for match in _TEN_DIGITS.finditer(text)):
        return NHS_NUMBER
    if _DATE_OF_BIRTH.search(text):
        return DATE_OF_BIRTH
    return None


def refusal(text: str, *, what: str) -> str | None:
    """The message refusing the text, or None if it holds no identifier. `what` names the field in
    the message, as its subject: "notes", "a message to crews"."""
    found = identifier_in(text)
    if found is None:
        return None
    return f"This looks like a patient's {found}: {what} must not identify the patient."
