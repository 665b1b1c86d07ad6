"""manage.py import_postcodes FILE: docs/postcodes.md."""

from django.core.management.base import BaseCommand, CommandError

from backend.postcodes.importing import BadFile, import_postcodes


class Command(BaseCommand):
    help = (
        "Import the ONS Postcode Directory CSV (columns pcds, lat, long, doterm; Open Government Licence). "
        "A re-import updates. A file with a bad row is refused, naming the row, and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The directory's CSV (the ONSPD's Data/ONSPD_*_UK.csv), or a sample of it.")
        parser.add_argument(
            "--skip-bad-rows",
            action="store_true",
            help="Import the good rows and list the bad ones, instead of refusing the file.",
        )

    def handle(self, *args, file, skip_bad_rows, **options):
        try:
            # utf-8-sig: a byte order mark, as spreadsheets write, is not part of the first column's name.
            with open(file, encoding="utf-8-sig", newline="") as lines:
                result = import_postcodes(lines, skip_bad_rows=skip_bad_rows)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        except UnicodeDecodeError as error:
            raise CommandError(f"{file} is not UTF-8 text (byte {error.start}).") from None
        except BadFile as error:
            raise CommandError("\n".join([f"{file}: {error.message}", *error.errors])) from None
        for line in result.errors:
            self.stderr.write(f"Skipped: {line}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.written} postcodes from {file}"
                f" ({result.without_location} without a location left out"
                + (f", {result.bad_rows} bad rows skipped" if result.bad_rows else "")
                + ")."
            )
        )
