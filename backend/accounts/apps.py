from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "backend.accounts"
    label = "accounts"
    verbose_name = "Stations and responders"

    def ready(self):
        from backend.accounts.roles import ensure_role_groups

        # Sender is the last of our apps to migrate, so every permission named exists by then.
        post_migrate.connect(ensure_role_groups, dispatch_uid="ensure_role_groups")
