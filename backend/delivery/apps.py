from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "backend.delivery"
    label = "delivery"
    verbose_name = "Alert delivery"
