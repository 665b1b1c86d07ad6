"""A CAD reference is one incident's in any case (found by trying the product: with "CAD-T3-001"
taken, `POST /api/v1/incidents/ {"cad_reference": "cad-t3-001"}` was 201, a second incident for
the same 999 call, where the exact duplicate was 409). The database holds it (a unique constraint
on UPPER(cad_reference), so two callers racing cannot both win), and every way in answers as for an
exact duplicate: 409 naming the incident that has it, nothing created, nobody alerted."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from backend.dispatch import actions
from backend.dispatch.models import Alert, Incident
from backend.errors import Conflict
from tests.api.helpers import assert_error
from tests.conftest import NORWICH_INCIDENT, admin_client_for, client_for, token_client_for

NEW = {"latitude": NORWICH_INCIDENT[0], "longitude": NORWICH_INCIDENT[1], "address": "3 Elm Hill, Norwich"}


def create(actor, reference):
    return actions.create_incident(actor=actor, cad_reference=reference, **NEW)


@pytest.mark.django_db
@pytest.mark.parametrize("dispatch", [False, True])
def test_the_cad_sending_a_taken_reference_in_another_case_gets_409_naming_the_incident(cad, alice, dispatch):
    client = token_client_for(cad)
    first = client.post("/api/v1/incidents/", {**NEW, "cad_reference": "CAD-T3-001"}, format="json").json()

    again = {**NEW, "cad_reference": "cad-t3-001", "dispatch": dispatch}
    response = client.post("/api/v1/incidents/", again, format="json")

    error = assert_error(response, 409, "conflict", field="cad_reference")
    assert error["existing_incident_id"] == first["id"]
    assert error["fields"]["cad_reference"] == [f"Already used by incident {first['id']}."]
    assert error["message"] == f"An incident with CAD reference CAD-T3-001 already exists (incident {first['id']})."
    assert list(Incident.objects.values_list("cad_reference", flat=True)) == ["CAD-T3-001"]
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_a_coordinator_gets_the_same_answer_on_the_board_and_in_the_admin(carol):
    existing = create(carol, "Cad-T3-002")

    response = client_for(carol).post("/api/v1/incidents/", {**NEW, "cad_reference": "CAD-t3-002"}, format="json")
    assert assert_error(response, 409, "conflict")["existing_incident_id"] == existing.pk

    form = {**NEW, "cad_reference": "cad-t3-002", "category": "cardiac_arrest", "what3words": "", "notes": ""}
    page = admin_client_for(carol).post(reverse("admin:dispatch_incident_add"), form)
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["cad_reference"] == [f"Already used by incident {existing.pk}."]
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_the_action_refuses_it_as_a_conflict(carol):
    existing = create(carol, "CAD-T3-003")
    with pytest.raises(Conflict) as refused:
        create(carol, "cad-T3-003")
    assert refused.value.extra == {"existing_incident_id": existing.pk}
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_the_database_refuses_it_whoever_writes(carol):
    """Not only the action's check: a write that skips it (a race, a shell) is refused too."""
    create(carol, "CAD-T3-004")
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(cad_reference="cad-t3-004", created_by=carol, **NEW)


@pytest.mark.django_db
def test_references_that_differ_otherwise_are_still_two_incidents(carol):
    create(carol, "CAD-T3-005")
    create(carol, "CAD-T3-0050")
    create(carol, "CAD-T3_005")
    assert Incident.objects.count() == 3


# --- The migration ---------------------------------------------------------------------------------
# Rows made as the schema was before the migration, through the models as they were then (today's
# have columns later migrations add); and the latest schema back after each test, for the tests that
# follow on the same database (left at AFTER, they found no column a later migration adds).

BEFORE = "0012_stood_down_by_the_control_room"
AFTER = "0013_cad_reference_unique_in_any_case"


def migrate(target):
    """The models as they are at `target`, once the database is migrated to it."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("dispatch", target)])
    return executor.loader.project_state([("dispatch", target)]).apps


@pytest.fixture(autouse=True)
def back_to_the_latest_schema():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def old_incident(apps, carol, reference):
    return apps.get_model("dispatch", "Incident").objects.create(cad_reference=reference, created_by_id=carol.pk, **NEW)


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_existing_incidents(carol):
    old_apps = migrate(BEFORE)
    try:
        old_incident(old_apps, carol, "CAD-T3-010")
        old_incident(old_apps, carol, "CAD-T3-011")
    finally:
        migrate(AFTER)
    assert sorted(Incident.objects.values_list("cad_reference", flat=True)) == ["CAD-T3-010", "CAD-T3-011"]


@pytest.mark.django_db(transaction=True)
def test_the_migration_stops_naming_references_that_differ_only_in_case(carol):
    """Made before this fix, two incidents may hold one reference in two cases. Neither may be
    renamed or merged for the operator (each links to the CAD's record, and has its alerts and
    forms): the migration stops, names them, and changes nothing until someone decides."""
    old_apps = migrate(BEFORE)
    try:
        kept = old_incident(old_apps, carol, "CAD-T3-020")
        clash = old_incident(old_apps, carol, "cad-t3-020")
        with pytest.raises(RuntimeError) as stopped:
            migrate(AFTER)
        message = str(stopped.value)
        assert f"CAD-T3-020 (incident {kept.pk})" in message and f"cad-t3-020 (incident {clash.pk})" in message
        assert Incident.objects.count() == 2  # nothing changed
        Incident.objects.filter(pk=clash.pk).update(cad_reference="cad-t3-020-duplicate")
    finally:
        new_apps = migrate(AFTER)
    with pytest.raises(IntegrityError), transaction.atomic():
        old_incident(new_apps, carol, "CAD-T3-020-DUPLICATE")
