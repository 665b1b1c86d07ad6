"""MessageRecipient: who a message to the crews reaches, and CrewMessage.recipient_count counting
them (it counted only those told when it was sent, and the boards said "Seen by 2 of 1" once a
responder alerted later acknowledged it). The messages sent before it are filled in once, here:
those told when it was sent, from the audit trail's entry for the message (send_crew_message wrote
the alerts it told, in the same transaction); those alerted to the incident since (first alerted or
alerted again after it); and any who acknowledged it. A message without that entry (none the
product made) counts as told those alerted by then and still part of the incident now. After this
the product keeps the rows itself (backend/dispatch/messages.py) and never reads the trail for them."""

import django.db.models.deletion
from django.db import migrations, models

# MESSAGE_RECIPIENT_STATES when this was written.
_RECIPIENT_STATES = {"alerted", "received", "accepted", "en_route", "on_scene"}


def backfill(apps, schema_editor):
    AuditEntry = apps.get_model("audit", "AuditEntry")
    Alert = apps.get_model("dispatch", "Alert")
    CrewMessage = apps.get_model("dispatch", "CrewMessage")
    MessageAcknowledgement = apps.get_model("dispatch", "MessageAcknowledgement")
    MessageRecipient = apps.get_model("dispatch", "MessageRecipient")
    told_by_message: dict[int, set[int]] = {}
    for entry in AuditEntry.objects.filter(action="create", object_type="crew_message").values("object_id", "detail"):
        ids = (entry["detail"] or {}).get("recipient_alert_ids")
        if entry["object_id"].isdigit() and isinstance(ids, list):
            told_by_message[int(entry["object_id"])] = {int(pk) for pk in ids if isinstance(pk, int)}
    for message in CrewMessage.objects.only("pk", "incident_id", "sent_at").iterator():
        alerts = list(Alert.objects.filter(incident_id=message.incident_id).values("pk", "state", "alerted_at", "realerted_at"))
        told = told_by_message.get(message.pk)
        if told is None:
            told = {a["pk"] for a in alerts if a["alerted_at"] <= message.sent_at and a["state"] in _RECIPIENT_STATES}
        since = {
            a["pk"]
            for a in alerts
            if a["alerted_at"] > message.sent_at or (a["realerted_at"] is not None and a["realerted_at"] > message.sent_at)
        }
        acknowledged = set(MessageAcknowledgement.objects.filter(message_id=message.pk).values_list("alert_id", flat=True))
        reached = (told & {a["pk"] for a in alerts}) | since | acknowledged
        MessageRecipient.objects.bulk_create(
            [MessageRecipient(message_id=message.pk, alert_id=alert_id) for alert_id in sorted(reached)]
        )
        CrewMessage.objects.filter(pk=message.pk).update(recipient_count=len(reached))


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0018_undispatched_alarm"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="crewmessage",
            name="recipient_count",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text="Responders it reaches: told when sent, alerted to the incident since, or who acknowledged it.",
            ),
        ),
        migrations.CreateModel(
            name="MessageRecipient",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "alert",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="dispatch.alert"
                    ),
                ),
                (
                    "message",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="recipients",
                        to="dispatch.crewmessage",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("message", "alert"), name="one_recipient_row_per_alert")
                ],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
