"""The instances a JoinedLoad builds (backend/compiled_reads.py) without Model.__init__ (issue 17
item 2): the same instances `from_db` makes, a hundred of them in the CAD's call, each about 2 us
sooner; and `from_db` itself wherever the model could tell the difference (a `pre_init` or
`post_init` listener, an `__init__` or `from_db` of its own)."""

import pytest
from django.db.models import Model
from django.db.models.signals import post_init

from backend.accounts.models import Responder, Station
from backend.dispatch.selection_reads import responders_loaded

pytestmark = pytest.mark.django_db


@pytest.fixture
def inits(monkeypatch):
    built = []
    original = Model.__init__

    def counted(self, *args, **kwargs):
        built.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Model, "__init__", counted)
    return built


def as_built(instance) -> tuple:
    state = instance._state
    return (
        type(instance),
        {name: value for name, value in instance.__dict__.items() if name != "_state"},
        state.adding,
        state.db,
    )


def test_the_responders_with_stations_and_users_are_built_without_model_init(alice, bob, inits):
    loaded = responders_loaded([bob.pk, alice.pk])
    assert inits == []  # 6 before: each responder, station and user through Model.__init__
    expected = {r.pk: r for r in Responder.objects.select_related("station", "user").filter(pk__in=[alice.pk, bob.pk])}
    assert sorted(loaded) == sorted(expected)
    for pk, responder in loaded.items():
        assert as_built(responder) == as_built(expected[pk])
        assert as_built(responder.station) == as_built(expected[pk].station)
        assert as_built(responder.user) == as_built(expected[pk].user)
        assert responder._state.fields_cache.keys() == {"station", "user"}


def test_a_model_with_a_post_init_listener_is_built_by_from_db(alice, bob):
    heard = []

    def listener(sender, instance, **kwargs):
        heard.append(instance)

    post_init.connect(listener, sender=Station)
    try:
        loaded = responders_loaded([alice.pk, bob.pk])
    finally:
        post_init.disconnect(listener, sender=Station)
    assert sorted(station.pk for station in heard) == sorted(r.station_id for r in loaded.values())
    assert all(r.station is station for r, station in zip(loaded.values(), heard, strict=True))
