from django.apps import AppConfig


class PlacesConfig(AppConfig):
    """Places the crews are sent to that are not incidents: the public defibrillators, imported
    from OpenStreetMap or a trust's copy of The Circuit (docs/defibrillators.md). Below dispatch in
    the layers: it knows no incident, only positions."""

    name = "backend.places"
    label = "places"
    verbose_name = "Defibrillators"
