from django.apps import AppConfig
from django.conf import settings


class DispatchConfig(AppConfig):
    name = "backend.dispatch"
    label = "dispatch"
    verbose_name = "Incidents and alerts"

    def ready(self):
        from backend import scheduling
        from backend.dispatch.escalation import run_due_escalations
        from backend.dispatch.positions import delete_expired_positions

        # Escalation steps are seconds apart, not milliseconds: once per poll interval is enough.
        scheduling.register(
            "dispatch.escalations",
            lambda worker: scheduling.Every("escalations", settings.DELIVERY_POLL_SECONDS, run_due_escalations),
        )
        # Positions are kept POSITIONS_RETENTION_HOURS (docs/positions.md): minutes late is no matter.
        scheduling.register(
            "dispatch.positions_retention",
            lambda worker: scheduling.Every("positions retention", 300, delete_expired_positions),
        )
