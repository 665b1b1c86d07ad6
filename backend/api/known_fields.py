"""Input serializers that refuse a field they do not have, naming it, and say so in the API's
schema (`additionalProperties: false`).

DRF ignores a field it does not know. For the ambulance CAD that meant a misspelt field was lost
without a word: `"dispach": true` made the incident, dispatched nobody and raised no alarm (found by
trying the product). The calls that create and change incidents use this; every other error of
theirs is still reported with it (the fields' own errors and the unknown ones in one answer).
"""

from collections.abc import Mapping

from rest_framework import serializers

# The request components of the serializers below, by class name: the schema hook marks them.
_REFUSING: set[str] = set()


class KnownFieldsOnly:
    """Mixed into a flat input serializer, before serializers.Serializer."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REFUSING.add(cls.__name__)

    def to_internal_value(self, data):
        unknown = _unknown_fields(data, self.fields) if isinstance(data, Mapping) else {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if unknown and isinstance(error.detail, dict):
                raise serializers.ValidationError({**error.detail, **unknown}) from error
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


def _unknown_fields(data: Mapping, fields) -> dict[str, list[str]]:
    known = [name for name, field in fields.items() if not field.read_only]
    return {
        str(name): [f"Not a field of this call. Its fields are: {', '.join(known)}."]
        for name in data
        if name not in known
    }


def mark_known_fields_only(result, generator, request, public):
    """drf-spectacular postprocessing hook: the request bodies of KnownFieldsOnly serializers have
    `additionalProperties: false` (COMPONENT_SPLIT_REQUEST names them "<class>Request")."""
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.removesuffix("Request") in _REFUSING and name.endswith("Request"):
            schema["additionalProperties"] = False
    return result
