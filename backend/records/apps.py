from django.apps import AppConfig


class RecordsConfig(AppConfig):
    """After the call: attendance, outcome and welfare records, their amendments, the coordinators'
    reports built from them, and the retention that pseudonymises old ones."""

    name = "backend.records"
    label = "records"
    verbose_name = "After-call records"

    def ready(self):
        from backend import logs
        from backend.records.models import health_and_welfare_field_names

        # The logs refuse the forms' fields by name, whatever logs them.
        logs.register_sensitive_fields(health_and_welfare_field_names())

        from backend.dispatch.signals import alerts_timed
        from backend.records.summaries import summarise_on_signal

        alerts_timed.connect(summarise_on_signal, dispatch_uid="records.summarise_alerts")
