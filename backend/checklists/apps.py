from django.apps import AppConfig


class ChecklistsConfig(AppConfig):
    """The on-scene CPR and defibrillator checklist (versioned content, `data/`) and what crews
    record with it (the on-scene event log). Kept together because the log's event types are the
    checklist's: one place says which taps exist and checks what is recorded against them."""

    name = "backend.checklists"
    label = "checklists"
    verbose_name = "On-scene checklist"
