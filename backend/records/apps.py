from django.apps import AppConfig

# How often the worker brings the reports' per-alert summaries up to date.
SUMMARIES_EVERY_SECONDS = 10


class RecordsConfig(AppConfig):
    """After the call: attendance, outcome and welfare records, their amendments, the coordinators'
    reports built from them, and the retention that pseudonymises old ones."""

    name = "backend.records"
    label = "records"
    verbose_name = "After-call records"

    def ready(self):
        from django.conf import settings

        from backend import logs, scheduling
        from backend.records.models import health_and_welfare_field_names
        from backend.records.notify import send_due_welfare_emails
        from backend.records.summaries import summarise_due

        # The logs refuse the forms' fields by name, whatever logs them.
        logs.register_sensitive_fields(health_and_welfare_field_names())
        # In the background: a slow mail relay must never hold up a push.
        scheduling.register(
            "records.welfare_emails",
            lambda worker: scheduling.InBackground(
                "welfare e-mails", settings.DELIVERY_POLL_SECONDS, send_due_welfare_emails
            ),
        )
        # The reports' summaries of alerts made or answered since the last pass (a report also
        # catches up first, so it is never behind; this keeps that catch-up short).
        scheduling.register(
            "records.summaries",
            lambda worker: scheduling.Every("report summaries", SUMMARIES_EVERY_SECONDS, summarise_due),
        )
