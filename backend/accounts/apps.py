from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_migrate, post_save


class AccountsConfig(AppConfig):
    name = "backend.accounts"
    label = "accounts"
    verbose_name = "Stations and responders"

    def ready(self):
        from django.contrib.auth import get_user_model

        from backend import checks  # noqa: F401 (registers the deployment checks)
        from backend.accounts import actions
        from backend.roles import ensure_role_groups

        # Sender is the last of our apps to migrate, so every permission named exists by then.
        post_migrate.connect(ensure_role_groups, dispatch_uid="ensure_role_groups")
        user_logged_in.connect(actions.on_logged_in, dispatch_uid="accounts_on_logged_in")
        user_logged_out.connect(actions.on_logged_out, dispatch_uid="accounts_on_logged_out")
        post_save.connect(actions.on_user_saved, sender=get_user_model(), dispatch_uid="accounts_on_user_saved")
