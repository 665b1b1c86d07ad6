from django.apps import AppConfig


class RecordsConfig(AppConfig):
    """After the call: attendance, outcome and welfare records, their amendments, the coordinators'
    reports built from them, and the retention that pseudonymises old ones."""

    name = "backend.records"
    label = "records"
    verbose_name = "After-call records"
