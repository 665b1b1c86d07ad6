"""Make an API token for a machine client such as the ambulance CAD system.

The token is printed once; only a hash of it is stored (django-rest-knox). Give it to the
integrator over a secure channel and revoke it in the admin (Knox > Auth tokens) when done.
"""

import datetime

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from knox.models import AuthToken

from backend.accounts.tokens import delete_expired_tokens


class Command(BaseCommand):
    help = "Create an API token for a user (normally a member of the 'Dispatch systems' group)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--days", type=int, default=365, help="Days until the token expires (default 365).")

    def handle(self, *args, username, days, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        try:
            user = get_user_model().objects.get(username=username, is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError(f"There is no active user {username!r}.") from None
        # The API's token check no longer tidies up a caller's expired tokens on every call.
        delete_expired_tokens(user)
        instance, token = AuthToken.objects.create(user=user, expiry=datetime.timedelta(days=days))
        self.stdout.write(f"Token for {username} (expires {instance.expiry:%Y-%m-%d}); it is shown only once:")
        self.stdout.write(token)
