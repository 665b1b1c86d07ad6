"""`manage.py import_defibrillators FILE`: load or refresh defibrillators from OpenStreetMap or a
CSV with The Circuit's kind of columns (docs/defibrillators.md). The deployer runs it with real
data; `load_demo_data` runs it with the made-up demo file."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from backend.places.importing import FORMATS, FileRefused, apply_import, guess_format


class Command(BaseCommand):
    help = (
        "Import defibrillators from OpenStreetMap (GeoJSON or Overpass JSON of emergency=defibrillator) or a CSV "
        "with The Circuit's kind of columns. A re-import updates in place; points missing from a new full file are "
        "marked removed from the source (not deleted). Bad rows are refused with the reason; the others load."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The file to read (UTF-8).")
        parser.add_argument("--format", choices=sorted(FORMATS), help="Default: from the file name (.geojson, .csv).")
        parser.add_argument("--dry-run", action="store_true", help="Read and report, change nothing.")
        parser.add_argument(
            "--keep-missing",
            action="store_true",
            help="The file is a part of its source (one county): do not mark the points it lacks as removed.",
        )

    def handle(self, *args, file, format, dry_run, keep_missing, **options):
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"{file}: cannot be read as UTF-8 text: {error}") from None
        format = format or guess_format(path.name, text)
        source, reader = FORMATS[format]
        try:
            rows, refusals = reader(text)
        except FileRefused as error:
            raise CommandError(f"{file} ({format}): {error}. Nothing was imported.") from None
        result = apply_import(
            source=source,
            rows=rows,
            refusals=refusals,
            now=timezone.now(),
            mark_missing=not keep_missing,
            dry_run=dry_run,
        )
        self._report(file, format, result, dry_run=dry_run)
        if refusals:
            # After the good rows are in: a deployer's script learns that some were not.
            raise CommandError(f"{len(refusals)} of {result.read} refused (listed above); the others were imported.")

    def _report(self, file, format, result, *, dry_run: bool) -> None:
        for refusal in result.refusals:
            self.stderr.write(f"Refused {refusal.where}: {refusal.reason}.")
        counts = result.counts()
        prefix = "Dry run, nothing changed: would have " if dry_run else ""
        removed = (
            "points missing from the file left as they were"
            if result.missing_not_marked
            else f"{counts['removed_from_source']} marked removed from the source"
        )
        self.stdout.write(
            f"{prefix}{file} ({format}, source {result.source}): read {result.read}; "
            f"created {counts['created']}, updated {counts['updated']}, unchanged {counts['unchanged']}, "
            f"{removed}, refused {counts['refused']}."
        )
