import pytest

from backend.dispatch.actions import create_incident
from backend.dispatch.models import Incident
from backend.errors import Conflict, InvalidInput, NotAllowed


def create(actor, **overrides):
    fields = {"cad_reference": "EEAST-0100", "latitude": 52.63, "longitude": 1.29, "address": "1 Any Street, Norwich"}
    fields.update(overrides)
    return create_incident(actor=actor, **fields)


def test_a_coordinator_creates_an_open_incident(carol):
    incident = create(carol)
    assert incident.status == "open" and incident.created_by == carol
    assert incident.dispatched_at is None


def test_the_dispatch_system_can_create_incidents(cad):
    assert create(cad).created_by == cad


def test_a_duplicate_cad_reference_is_a_conflict_naming_the_existing_incident(carol):
    existing = create(carol)
    with pytest.raises(Conflict) as error:
        create(carol, address="elsewhere")
    assert error.value.extra == {"existing_incident_id": existing.pk}
    assert str(existing.pk) in error.value.message
    assert Incident.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"), [("latitude", 91), ("latitude", -90.5), ("longitude", 180.1), ("latitude", "52")]
)
def test_an_impossible_location_is_refused(carol, field, value):
    with pytest.raises(InvalidInput) as error:
        create(carol, **{field: value})
    assert field in error.value.fields
    assert not Incident.objects.exists()


def test_firefighters_and_users_without_a_role_cannot_create_incidents(alice, nobody):
    for actor in (alice.user, nobody):
        with pytest.raises(NotAllowed):
            create(actor)
    assert not Incident.objects.exists()
