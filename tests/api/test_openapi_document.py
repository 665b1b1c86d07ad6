"""The OpenAPI document at /api/schema/ is the same every time a process serves it, and every
"$ref" in it names a component it holds. (drf-spectacular's enum hook rewrites, in place, the
schemas it is handed; a schema kept on a class came back from the second request on with its
choice sets as references to enum components no longer generated: AgeBandEnum, FirstByEnum...)"""

import json
import re

from rest_framework.test import APIClient

REF = re.compile(r'"\$ref": "#/components/schemas/([^"]+)"')


def _document() -> dict:
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_every_reference_names_a_component_on_every_request():
    for _ in range(3):
        document = _document()
        named = set(REF.findall(json.dumps(document)))
        assert named, "the document refers to no component: the check would pass on nothing"
        assert named - set(document["components"]["schemas"]) == set()


def test_the_document_is_the_same_on_every_request():
    first, second = _document(), _document()
    assert second == first
    assert {"AgeBandEnum", "FirstByEnum"} <= set(second["components"]["schemas"])
