from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ChecklistsConfig(AppConfig):
    """The on-scene CPR and defibrillator checklist (versioned content, `data/`, with its clinical
    sign-off) and what crews record with it (the on-scene event log). Kept together because the
    log's event types are the checklist's: one place says which taps exist and checks what is
    recorded against them."""

    name = "backend.checklists"
    label = "checklists"
    verbose_name = "On-scene checklist"

    def ready(self):
        from backend.checklists import checks  # noqa: F401 (registers the sign-off's deployment check)
        from backend.checklists.signoff import load_content_files

        # Each content file becomes a version (a draft when new) at every migrate: see signoff.py.
        post_migrate.connect(load_content_files, sender=self, dispatch_uid="checklists_load_content_files")
