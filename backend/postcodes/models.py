from django.db import models


class Postcode(models.Model):
    """One postcode's centroid from the ONS Postcode Directory. `code` is the look-up key: the
    postcode in capitals without spaces, so "nr2 1tf", "NR21TF" and "NR2  1TF" all find it."""

    code = models.CharField(max_length=8, unique=True, help_text="Capitals, no spaces: NR21TF.")
    postcode = models.CharField(max_length=8, help_text="As written: NR2 1TF (the directory's pcds).")
    latitude = models.FloatField()
    longitude = models.FloatField()
    terminated = models.CharField(
        max_length=6,
        blank=True,
        help_text="When the postcode stopped being used (YYYYMM, the directory's doterm); blank while in use.",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.postcode
