"""Finding a postcode, in any spacing or case."""

import re

from backend.errors import NotFound
from backend.postcodes.models import Postcode

# The shape of a UK postcode once spaces are gone: an outward code of 2 to 4 characters starting
# with letters, and an inward code of a digit and two letters (BS 7666). Checked so that a typing
# slip says so rather than "unknown", and anything else never reaches the database.
COMPACT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$")


class UnknownPostcode(NotFound):
    code = "unknown_postcode"


def compact(text: str) -> str:
    """ "nr2 1tf" -> "NR21TF": capitals, every kind of space gone."""
    return re.sub(r"\s+", "", text or "").upper()


def written(code: str) -> str:
    """ "NR21TF" -> "NR2 1TF": the inward code is always the last three characters."""
    return f"{code[:-3]} {code[-3:]}"


def find_postcode(text: str) -> Postcode:
    code = compact(text)
    if not COMPACT.match(code):
        raise UnknownPostcode(f"{text.strip()[:20]!r} is not a UK postcode (for example NR2 1TF).")
    try:
        return Postcode.objects.get(code=code)
    except Postcode.DoesNotExist:
        raise UnknownPostcode(f"Postcode {written(code)} is not in the postcode table.") from None


def postcode_payload(postcode: Postcode) -> dict:
    return {
        "postcode": postcode.postcode,
        "latitude": postcode.latitude,
        "longitude": postcode.longitude,
        "terminated": postcode.terminated,
    }
