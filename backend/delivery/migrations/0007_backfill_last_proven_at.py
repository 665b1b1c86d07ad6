"""Phones that showed an alert before last_proven_at existed are proven by it: their latest
receipt becomes last_proven_at (only where that is later). Nothing else is written."""

from django.db import migrations
from django.db.models import Max


def backfill(apps, schema_editor):
    Delivery = apps.get_model("delivery", "Delivery")
    PushDevice = apps.get_model("delivery", "PushDevice")
    latest = (
        Delivery.objects.filter(kind="alert", channel="webpush", device__isnull=False, shown_at__isnull=False)
        .values("device_id")
        .annotate(at=Max("shown_at"))
    )
    for row in latest.iterator():
        PushDevice.objects.filter(pk=row["device_id"], last_proven_at__isnull=True).update(last_proven_at=row["at"])
        PushDevice.objects.filter(pk=row["device_id"], last_proven_at__lt=row["at"]).update(last_proven_at=row["at"])


class Migration(migrations.Migration):
    dependencies = [("delivery", "0006_devicecheck_failure_code")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
