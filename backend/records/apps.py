from django.apps import AppConfig


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

        # The logs refuse the forms' fields by name, whatever logs them.
        logs.register_sensitive_fields(health_and_welfare_field_names())
        # In the background: a slow mail relay must never hold up a push.
        scheduling.register(
            "records.welfare_emails",
            lambda worker: scheduling.InBackground(
                "welfare e-mails", settings.DELIVERY_POLL_SECONDS, send_due_welfare_emails
            ),
        )

        from backend.dispatch.signals import alerts_timed
        from backend.records.summaries import summarise_on_signal

        alerts_timed.connect(summarise_on_signal, dispatch_uid="records.summarise_alerts")
