"""For `make run`: a VAPID key pair for the demo, in a git-ignored file, made once. A deployment sets
VAPID_PRIVATE_KEY (or VAPID_PRIVATE_KEY_FILE) instead, and this command refuses to run there."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backend.delivery import vapid


class Command(BaseCommand):
    help = "Create the demo VAPID key in .local/ if no key is configured (development only)."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Set VAPID_PRIVATE_KEY in production; demo keys are for development only.")
        if settings.VAPID_PRIVATE_KEY:
            self.stdout.write("A VAPID key is configured; nothing to do.")
            return
        key_file = settings.BASE_DIR / ".local" / "vapid_private_key.txt"
        key_file.parent.mkdir(exist_ok=True)
        key_file.write_text(vapid.private_key_b64(vapid.generate()) + "\n")
        key_file.chmod(0o600)
        self.stdout.write(f"Demo VAPID key written to {key_file} (git-ignored).")
