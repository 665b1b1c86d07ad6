"""Write the app's modules that come from the server's definitions (backend/records/app_modules.py):
pwa/app/labels.js and pwa/app/form-schema.js. With --check, write nothing and fail if either is
out of date."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backend.records.app_modules import modules


class Command(BaseCommand):
    help = "Write pwa/app/labels.js and pwa/app/form-schema.js from the server's choices and form fields."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Only check that the files are up to date.")

    def handle(self, *args, check=False, **options):
        stale = []
        for path, text in modules().items():
            if path.exists() and path.read_text(encoding="utf-8") == text:
                continue
            stale.append(path.relative_to(settings.BASE_DIR))
            if not check:
                path.write_text(text, encoding="utf-8")
        if check and stale:
            raise CommandError(f"Out of date: {', '.join(map(str, stale))}. Run manage.py write_app_modules.")
        for path in stale:
            self.stdout.write(f"Wrote {path}.")
        if stale:
            # The generated files are part of the app shell, whose cache is named after its contents.
            self.stdout.write("Now give the service worker its new version: node pwa/tools/shell-version.mjs --write")
