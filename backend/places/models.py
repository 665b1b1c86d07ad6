from django.db import models


class Source(models.TextChoices):
    OSM = "osm", "OpenStreetMap"
    CIRCUIT = "circuit", "The Circuit (a trust's data agreement)"


# What each source's licence asks to be shown wherever its points are (docs/defibrillators.md).
ATTRIBUTION = {
    Source.OSM: "© OpenStreetMap contributors (ODbL)",
    Source.CIRCUIT: "The Circuit, British Heart Foundation (under the trust's agreement)",
}


class Access(models.TextChoices):
    """OpenStreetMap's `access` values that matter to a crew sent for a defibrillator; The Circuit's
    are mapped onto them by the importer."""

    YES = "yes", "Public access"
    PERMISSIVE = "permissive", "Public access (by the owner's leave)"
    CUSTOMERS = "customers", "Not public: customers or visitors only"
    PRIVATE = "private", "Not public: private"
    NO = "no", "Not public"
    UNKNOWN = "unknown", "Access unknown: may not be public"


PUBLIC_ACCESS = (Access.YES, Access.PERMISSIVE)


class Defibrillator(models.Model):
    """One defibrillator as its source last described it. A re-import updates the row of the same
    (source, source_id) in place; one missing from a later full import is marked, not deleted
    (removed_from_source_at), so that what the crews were shown stays explainable."""

    source = models.CharField(max_length=16, choices=Source.choices)
    source_id = models.CharField(max_length=100, help_text="node/123 in OpenStreetMap; The Circuit's id.")
    latitude = models.FloatField()
    longitude = models.FloatField()
    name = models.CharField(max_length=200, blank=True)
    access = models.CharField(max_length=16, choices=Access.choices, default=Access.UNKNOWN)
    location = models.CharField(max_length=500, blank=True, help_text="Where it is, e.g. 'left of the main door'.")
    level = models.CharField(max_length=20, blank=True)
    indoor = models.BooleanField(null=True, blank=True)
    opening_hours = models.CharField(max_length=255, blank=True, help_text="OpenStreetMap's opening_hours syntax.")
    operator = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    imported_at = models.DateTimeField(help_text="When an import last created or changed this row.")
    removed_from_source_at = models.DateTimeField(
        null=True, blank=True, help_text="Missing from the last full import of its source: no longer shown."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "source_id"], name="defibrillator_unique_per_source")]
        # The nearest query's bounding box: a range on latitude, then longitude, from the index.
        indexes = [models.Index(fields=["latitude", "longitude"], name="defibrillator_position")]
        ordering = ["source", "source_id"]

    def __str__(self):
        return self.name or self.location or f"{self.get_source_display()} {self.source_id}"
