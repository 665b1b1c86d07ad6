"""Alert.first_en_route_at: that the responder set off at some time, kept after a re-alert (which
clears en_route_at unless they were on scene). The alerts made before it are filled in once, here,
as 0017 did for first_accepted_at: from their en-route time, or, where a re-alert has cleared it,
from the audit trail's earliest "en_route" entry for the alert (the earlier of the two where both
say). After this the product never reads the trail for it: actions.respond_to_alert sets the field."""

from django.db import migrations, models
from django.db.models import F, Min, Q


def backfill(apps, schema_editor):
    Alert = apps.get_model("dispatch", "Alert")
    AuditEntry = apps.get_model("audit", "AuditEntry")
    Alert.objects.filter(en_route_at__isnull=False).update(first_en_route_at=F("en_route_at"))
    # Each alert the trail says set off, with its earliest setting off.
    earliest = (
        AuditEntry.objects.filter(action="alert_state", object_type="alert", detail__state="en_route")
        .values("object_id")
        .annotate(at=Min("at"))
    )
    for row in earliest.iterator():
        if not row["object_id"].isdigit():
            continue
        later_or_none = Q(first_en_route_at__isnull=True) | Q(first_en_route_at__gt=row["at"])
        Alert.objects.filter(later_or_none, pk=int(row["object_id"])).update(first_en_route_at=row["at"])


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0022_position_stopped"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="first_en_route_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the responder first set off (kept after a re-alert or stand-down).",
                null=True,
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
