"""The CAD's call on PostgreSQL writes the incident's and the alerts' audit entries in the
statements of their rows, each value cast to its column's type (backend/bulk_rows.py, companion
rows). The types are asked of the fields once per process, with the rest of the model's plan, not
on every call (issue 17 item 2: each column of each kind of entry, on every dispatch)."""

import pytest
from django.db import connection
from django.db.models import Field

from backend.audit.models import AuditEntry
from tests.api.test_dispatch_call_cost import big_station, create_and_dispatch  # noqa: F401 (a fixture)
from tests.conftest import token_client_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no INSERT inside WITH")
def test_the_companion_rows_column_types_are_not_asked_on_every_call(cad, big_station, monkeypatch):  # noqa: F811
    client = token_client_for(cad)
    create_and_dispatch(client, "WARM-UP")
    asked = []
    original = Field.db_type

    def counted(self, connection):
        asked.append((getattr(self, "model", None), self.name))  # an expression's output field has no model
        return original(self, connection)

    monkeypatch.setattr(Field, "db_type", counted)
    body = create_and_dispatch(client, "EEAST-0001")
    assert len(body["alerts"]) == 12
    assert [name for model, name in asked if model is AuditEntry] == []  # its columns, twice a call, before
