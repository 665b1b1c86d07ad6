"""Strict serializer fields for the API's request bodies: a value must already be the JSON type the
field documents.

DRF's own fields coerce: a FloatField takes `true` as 1.0 and `"52.6"` as 52.6, an IntegerField
takes `"7"` and `7.0`, a BooleanField takes `"yes"`, `1` and `"off"`, and a UUIDField takes a number.
An integrator whose CAD sends `"latitude": true` has a bug that would otherwise put an incident at
the wrong place without a word; the API says so instead, on the field. (Python's `bool` is an `int`,
so every check here refuses booleans first.)

Query-string filters (`?active=true`) are text by nature and keep DRF's own fields.
"""

import datetime
import uuid

from django.utils import dateparse, timezone
from rest_framework import serializers


def _is_json_integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class StrictFloatField(serializers.FloatField):
    """A JSON number (integer or not); never a boolean or a string."""

    default_error_messages = {"invalid": "Give a number (a JSON number, not text or true/false)."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer; never a boolean, a string or a number with a fraction part (`7.0` too: a
    client that sends it computed the value as a float)."""

    default_error_messages = {"invalid": "Give a whole number (a JSON number, not text or true/false)."}

    def to_internal_value(self, data):
        if not _is_json_integer(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON `true` or `false`; never `"true"`, `1` or `"yes"`."""

    default_error_messages = {"invalid": "Give true or false (a JSON boolean, not text or a number)."}

    def to_internal_value(self, data):
        if data is None and self.allow_null:
            return None
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictUUIDField(serializers.UUIDField):
    """A UUID as a JSON string; never a number (DRF reads an integer as the UUID's 128 bits)."""

    default_error_messages = {"invalid": "Give a UUID as text, e.g. 5f0c6a1e-2b7d-4c1a-9f3e-8d2b6a4c1e07."}

    def to_internal_value(self, data):
        if not isinstance(data, (str, uuid.UUID)):
            self.fail("invalid")
        return super().to_internal_value(data)


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time that must carry its offset: a phone's local time without one is ambiguous
    (twice a year by an hour)."""

    def to_internal_value(self, value):
        try:
            parsed = dateparse.parse_datetime(value) if isinstance(value, str) else None
        except ValueError:  # the right shape but no such time (minute 99, 30 February): the parent refuses it
            parsed = None
        if parsed is not None and parsed.tzinfo is None:
            raise serializers.ValidationError("Give the time with its offset, e.g. 2025-03-01T14:07:12.345Z.")
        return super().to_internal_value(value)


class AmbulanceEtaField(AwareDateTimeField):
    """The ambulance's estimated arrival from the CAD: within a day of now, either side, and kept
    in UTC. A time outside that is a CAD or clock fault, not an estimate; and an offset such as
    -00:01:15, which ISO 8601 allows, is not one RFC 3339 clients read (found by the API fuzzing)."""

    WITHIN = datetime.timedelta(days=1)

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        now = timezone.now()
        if not now - self.WITHIN <= moment <= now + self.WITHIN:
            raise serializers.ValidationError("Give an arrival time within a day of now; check the CAD's clock.")
        return moment.astimezone(datetime.UTC)
