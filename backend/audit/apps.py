from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The append-only audit trail: who created, viewed, changed or exported a record of a call,
    and every change of an alert's state. It holds who, role, what, when and from where, never the
    health data itself."""

    name = "backend.audit"
    label = "audit"
    verbose_name = "Audit trail"
