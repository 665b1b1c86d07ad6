"""The deployment check of the clinical sign-off (`manage.py check --deploy --database default`).

Production serves only an approved version of the checklist (backend.checklists.signoff). The
approval is a row in the database, so this check reads the database, and like Django's own database
checks it runs only when a database is named: `--database default`, which the deployment runs
after `migrate` and before serving (docs/deployment.md). Without one (`make check`, which makes no
connection) it says it has not checked rather than pass in silence: coresponder.I051.

coresponder.E051: no approved version, so phones would get no checklist (W051 outside production,
where the draft is served with a "not clinically approved" banner). coresponder.E052: a content
file was edited after its version was approved: the edit is not served and needs a new version
number to be reviewed.
"""

from django.conf import settings
from django.core.checks import Error, Info, Tags, Warning, register
from django.db import DatabaseError

NOT_CHECKED = "coresponder.I051"
NO_APPROVED_VERSION = "coresponder.E051"
NO_APPROVED_VERSION_DEV = "coresponder.W051"
APPROVED_FILE_CHANGED = "coresponder.E052"


@register(Tags.database, deploy=True)
def approved_checklist(app_configs=None, databases=None, **kwargs):
    if not databases:
        return [
            Info(
                "The checklist's clinical sign-off was not checked: it is recorded in the database and no "
                "database was named.",
                hint="Run `manage.py check --deploy --database default` where the database is reachable.",
                id=NOT_CHECKED,
            )
        ]
    problems = []
    for alias in databases:
        problems += _problems_in(alias)
    return problems


def _problems_in(alias: str) -> list:
    from backend.checklists import signoff
    from backend.checklists.models import ChecklistVersion, SignOffStatus

    try:
        versions = list(ChecklistVersion.objects.using(alias).all())
    except DatabaseError as error:
        return [
            Error(
                f"Could not read the checklist's sign-off from database {alias!r}: {error}.",
                hint="Run `manage.py migrate` first.",
                id=NO_APPROVED_VERSION,
            )
        ]
    problems = []
    if not any(row.status == SignOffStatus.APPROVED for row in versions):
        drafts = ", ".join(sorted(row.version for row in versions if row.status == SignOffStatus.DRAFT)) or "none"
        message = (
            f"No version of the on-scene checklist is clinically approved (drafts: {drafts}): production would "
            "serve phones no checklist."
        )
        hint = (
            "A clinical safety officer records the clinician's review and approves a version in the admin "
            "(On-scene checklist > Checklist versions)."
        )
        if settings.PRODUCTION:
            problems.append(Error(message, hint=hint, id=NO_APPROVED_VERSION))
        else:
            problems.append(
                Warning(
                    message + " Development serves the draft with a 'not clinically approved' banner.",
                    hint=hint,
                    id=NO_APPROVED_VERSION_DEV,
                )
            )
    files = {document["version"]: signoff.content_hash(document) for _, document in signoff.content_files()}
    for row in versions:
        if row.status != SignOffStatus.DRAFT and row.version in files and files[row.version] != row.content_sha256:
            problems.append(
                Error(
                    f"Checklist {row.version} was changed in {row.source_file} after it was {row.status}: phones are "
                    "served the content as approved, not the edit.",
                    hint="Give the changed content a new version number, so that it is loaded as a draft and reviewed.",
                    id=APPROVED_FILE_CHANGED,
                )
            )
    return problems
