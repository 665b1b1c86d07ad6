from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "backend.delivery"
    label = "delivery"
    verbose_name = "Alert delivery"

    def ready(self):
        from backend.delivery import readiness, sending

        sending.register_passes()
        readiness.register_passes()
