from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "backend.realtime"
    label = "realtime"
    verbose_name = "Real-time events"

    def ready(self):
        from backend import scheduling
        from backend.realtime.pruning import prune_stored_events

        # Days of retention: once every ten minutes is more than often enough.
        scheduling.register(
            "realtime.stored_events_retention",
            lambda worker: scheduling.Every("stored events retention", 600, prune_stored_events),
        )
