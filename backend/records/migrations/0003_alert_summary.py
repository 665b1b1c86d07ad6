"""The reports' summary of each alert (backend.records.summaries), made for the alerts already there.

The rules are copied from backend/records/summaries.py as it was when this was written, so that
this migration does the same whatever that file becomes."""

import django.db.models.deletion
from django.db import migrations, models

SOURCES = (
    "pk",
    "incident_id",
    "station_id",
    "incident__created_at",
    "alerted_at",
    "accepted_at",
    "on_scene_at",
    "attendance__attended",
    "attendance__on_scene_at",
)


def _seconds(later, earlier):
    return None if later is None or earlier is None else (later - earlier).total_seconds()


def summary_values(
    alert_id, incident_id, station_id, created_at, alerted_at, accepted_at, on_scene_at, form_says_attended, form_on_scene
):
    attended = form_says_attended is True
    arrived_at = None
    if accepted_at is not None and form_says_attended is not False:
        arrived_at = form_on_scene or on_scene_at
    return {
        "alert_id": alert_id,
        "incident_id": incident_id,
        "station_id": station_id,
        "incident_created_at": created_at,
        "attended": attended,
        "to_acceptance_s": _seconds(accepted_at, alerted_at),
        "to_on_scene_s": _seconds(arrived_at, alerted_at),
        "form_on_scene_s": _seconds(form_on_scene, created_at) if attended else None,
    }


def summarise_existing_alerts(apps, schema_editor):
    Alert = apps.get_model("dispatch", "Alert")
    AlertSummary = apps.get_model("records", "AlertSummary")
    rows = Alert.objects.order_by("pk").values_list(*SOURCES)
    AlertSummary.objects.bulk_create(
        (AlertSummary(**summary_values(*row)) for row in rows.iterator(chunk_size=5000)), batch_size=5000
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("dispatch", "0003_alert_station"),
        ("records", "0002_optional_context_fields"),
    ]

    operations = [
        migrations.CreateModel(
            name="AlertSummary",
            fields=[
                (
                    "alert",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="dispatch.alert",
                    ),
                ),
                (
                    "incident_created_at",
                    models.DateTimeField(help_text="The report's date range and months go by this."),
                ),
                ("attended", models.BooleanField(help_text="The attendance form says the firefighter attended.")),
                ("to_acceptance_s", models.FloatField(help_text="Seconds from alert to acceptance.", null=True)),
                (
                    "to_on_scene_s",
                    models.FloatField(
                        help_text="Seconds from alert to on scene, if accepted and not recorded as not attending.",
                        null=True,
                    ),
                ),
                (
                    "form_on_scene_s",
                    models.FloatField(
                        help_text="The attendance form's on-scene time, in seconds after the incident was created.",
                        null=True,
                    ),
                ),
                (
                    "incident",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="dispatch.incident"
                    ),
                ),
                (
                    "station",
                    models.ForeignKey(
                        help_text="The firefighter's station when alerted.",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.station",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["incident_created_at"], name="summary_by_created"),
                    models.Index(fields=["station", "incident_created_at"], name="summary_by_station_created"),
                ],
            },
        ),
        migrations.RunPython(summarise_existing_alerts, migrations.RunPython.noop),
    ]
