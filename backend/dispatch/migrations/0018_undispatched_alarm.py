"""The alarm for an open incident nobody has dispatched (AlarmKind.UNDISPATCHED), raised by the
worker's escalation pass at the incident's next_escalation_at, which a new incident not dispatched
now gets (ladder.undispatched_alarm_at). The open incidents made before it and not dispatched yet
are given that time once, here, counted from their creation: one left undispatched for long sounds
at the worker's next pass."""

import datetime

from django.conf import settings
from django.db import migrations, models


def give_the_undispatched_their_alarm(apps, schema_editor):
    Incident = apps.get_model("dispatch", "Incident")
    waiting = Incident.objects.filter(status="open", dispatched_at__isnull=True, next_escalation_at__isnull=True)
    delay = datetime.timedelta(seconds=settings.UNDISPATCHED_ALARM_SECONDS)
    for incident in waiting.only("pk", "created_at").iterator():
        Incident.objects.filter(pk=incident.pk).update(next_escalation_at=incident.created_at + delay)


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0017_alert_first_accepted_at"),
    ]

    operations = [
        migrations.AlterField(
            model_name="alarmacknowledgement",
            name="kind",
            field=models.CharField(
                choices=[
                    ("unanswered", "Nobody has accepted after the first escalation step"),
                    ("escalation", "Nobody accepted after the last ring (the escalation alarm)"),
                    ("unreached", "A dispatch reached nobody"),
                    ("undispatched", "An open incident was not dispatched in time"),
                    ("worker_silent", "No delivery worker is reporting"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="incident",
            name="alarm_raised_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the board's alarm was last raised: not dispatched in time, a dispatch that reached "
                "nobody, still short after the last ring, or the last crew going dropped out.",
                null=True,
            ),
        ),
        migrations.RunPython(give_the_undispatched_their_alarm, migrations.RunPython.noop),
    ]
