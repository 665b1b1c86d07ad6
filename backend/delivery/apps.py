from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "backend.delivery"
    label = "delivery"
    verbose_name = "Alert delivery"

    def ready(self):
        from backend.delivery.sending import register_passes

        register_passes()
