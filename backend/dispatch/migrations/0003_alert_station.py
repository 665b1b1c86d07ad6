"""Each alert keeps the station its firefighter belonged to when alerted. Alerts made before this
migration take the firefighter's station at the time it runs: the best that is known."""

import django.db.models.deletion
from django.db import migrations, models


def stations_of_responders(apps, schema_editor):
    Alert = apps.get_model("dispatch", "Alert")
    Responder = apps.get_model("accounts", "Responder")
    station = Responder.objects.filter(pk=models.OuterRef("responder_id")).values("station_id")[:1]
    Alert.objects.update(station_id=models.Subquery(station))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("dispatch", "0002_incident_alarm_raised_at_incident_escalation_step_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="station",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.station",
            ),
        ),
        migrations.RunPython(stations_of_responders, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="alert",
            name="station",
            field=models.ForeignKey(
                help_text="The firefighter's station when alerted.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.station",
            ),
        ),
    ]
