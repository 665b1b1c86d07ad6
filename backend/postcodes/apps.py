from django.apps import AppConfig


class PostcodesConfig(AppConfig):
    """UK postcodes and where they are, imported from the ONS Postcode Directory (Open Government
    Licence; docs/postcodes.md), so that a coordinator can place an incident from a postcode."""

    name = "backend.postcodes"
    label = "postcodes"
    verbose_name = "Postcodes"
