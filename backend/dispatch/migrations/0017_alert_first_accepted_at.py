"""Alert.first_accepted_at: that the responder accepted at some time, kept after a re-alert (which
clears accepted_at). The alerts made before it are filled in once, here: from their acceptance
time, or, where a re-alert has cleared it, from the audit trail's earliest "accepted" entry for the
alert (the earlier of the two where both say: an alert accepted, stood down, alerted again and
accepted again first accepted before its accepted_at). After this the product never reads the
trail for it: actions.respond_to_alert sets the field."""

from django.db import migrations, models
from django.db.models import F, Min, Q


def backfill(apps, schema_editor):
    Alert = apps.get_model("dispatch", "Alert")
    AuditEntry = apps.get_model("audit", "AuditEntry")
    Alert.objects.filter(accepted_at__isnull=False).update(first_accepted_at=F("accepted_at"))
    # Each alert the trail says was accepted, with its earliest acceptance.
    earliest = (
        AuditEntry.objects.filter(action="alert_state", object_type="alert", detail__state="accepted")
        .values("object_id")
        .annotate(at=Min("at"))
    )
    for row in earliest.iterator():
        if not row["object_id"].isdigit():
            continue
        later_or_none = Q(first_accepted_at__isnull=True) | Q(first_accepted_at__gt=row["at"])
        Alert.objects.filter(later_or_none, pk=int(row["object_id"])).update(first_accepted_at=row["at"])


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0016_incident_alarm_message"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="first_accepted_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the responder first accepted (kept after a re-alert or stand-down).",
                null=True,
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
