"""The checklist's clinical sign-off: which version of the content phones are served, and the
actions that approve or withdraw a version. Every change is audited (backend.audit).

Where things live, and why (docs/clinical-content.md): the content is a file in the repository
(backend/checklists/data/), changed by a reviewed commit; its sign-off is a row in the database,
written in the admin by a clinical safety officer, because approval is a clinical act of the
deploying trust, done after the code is released and recorded with who did it. At every migrate
each file is loaded as a version (a draft when new). Production serves the newest approved version
and nothing else; development serves the newest version that is not withdrawn, draft included,
and the app shows a "not clinically approved" banner for it.
"""

import datetime
import hashlib
import json

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend import roles
from backend.audit import log
from backend.audit.models import AuditAction
from backend.checklists import content
from backend.checklists.models import ChecklistVersion, SignOffStatus
from backend.errors import ActionError, Conflict, InvalidInput, NotAllowed, NotFound

OBJECT_TYPE = "checklist_version"


class NoApprovedChecklist(ActionError):
    """Production has no approved version to serve. The app keeps using its saved copy, if any."""

    status = 503
    code = "no_approved_checklist"


def content_hash(document: dict) -> str:
    """SHA-256 of the content, independent of the file's layout (key order, indentation)."""
    return hashlib.sha256(json.dumps(document, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def version_key(version: str) -> tuple[int, ...]:
    """'2.10' sorts after '2.9'."""
    return tuple(int(part) for part in version.split("."))


def content_files() -> list[tuple[str, dict]]:
    """(file name, content) of every content file in the repository, oldest version first."""
    documents = [
        (path.name, json.loads(path.read_text(encoding="utf-8"))) for path in sorted(content.DATA_DIR.glob("*.json"))
    ]
    return sorted(documents, key=lambda item: version_key(item[1]["version"]))


def load_content_files(**kwargs) -> None:
    """post_migrate: bring the repository's content files into the database (see sync_content_files)."""
    sync_content_files()


def sync_content_files() -> list[ChecklistVersion]:
    """Load each content file as a version: a new version as a draft; a draft whose file changed
    takes the new content (it has not been approved, so nothing reviewed is lost). An approved or
    withdrawn version is never changed: a file edited after approval is reported by the deployment
    check (coresponder.E052) and needs a new version number to be reviewed.

    A new draft is recorded by its row (file, SHA-256, when loaded) and by the commit that added
    the file; it changes nothing a phone in production gets. Replacing a draft's content is
    audited as the system, like every change of status by a person."""
    loaded = []
    with transaction.atomic():
        for file_name, document in content_files():
            digest = content_hash(document)
            row = ChecklistVersion.objects.select_for_update().filter(version=document["version"]).first()
            if row is None:
                row = ChecklistVersion.objects.create(
                    version=document["version"],
                    source_file=file_name,
                    content=document,
                    content_sha256=digest,
                    loaded_at=timezone.now(),
                )
            elif row.content_sha256 != digest and row.status == SignOffStatus.DRAFT:
                row.content, row.content_sha256, row.source_file = document, digest, file_name
                row.loaded_at = timezone.now()
                row.save(update_fields=["content", "content_sha256", "source_file", "loaded_at"])
                _audit(None, AuditAction.CHANGE, row, {"content_sha256": digest})
            loaded.append(row)
    return loaded


def approve_version(
    *,
    actor,
    version_id: int,
    reviewer_name: str,
    reviewer_role: str,
    reviewer_registration: str = "",
    reviewed_on: datetime.date,
) -> ChecklistVersion:
    """Record a clinician's review and approve the version: from then on production serves it.
    Only a clinical safety officer may; only a draft can be approved (a withdrawn version stays
    withdrawn: load the content again under a new version).

    Refused, saying what to correct, while any text of the content still carries the placeholder
    a clinician must replace (content.PLACEHOLDER_MARKER: phones would show it as approved
    guidance), and for a review dated in the future or before the version was loaded (the review
    is of the content as loaded)."""
    _require_clinical_safety_officer(actor, "approve a checklist version")
    fields = {
        "reviewer_name": reviewer_name.strip(),
        "reviewer_role": reviewer_role.strip(),
        "reviewer_registration": reviewer_registration.strip(),
    }
    with transaction.atomic():
        row = _locked(version_id)
        if row.status != SignOffStatus.DRAFT:
            raise Conflict(
                f"Checklist {row.version} is {row.get_status_display().lower()}: only a draft can be approved."
            )
        errors = _approval_errors(row, fields, reviewed_on)
        if errors:
            raise InvalidInput(_approval_error_message(errors), fields=errors)
        for name, value in fields.items():
            setattr(row, name, value)
        row.reviewed_on = reviewed_on
        _set_status(actor, row, SignOffStatus.APPROVED, "")
    return row


def _approval_errors(row: ChecklistVersion, fields: dict, reviewed_on: datetime.date | None) -> dict:
    errors = {}
    for name in ("reviewer_name", "reviewer_role"):
        if not fields[name]:
            errors[name] = ["Say who reviewed the content: their name and their role."]
    loaded_on = timezone.localdate(row.loaded_at)
    if reviewed_on is None:
        errors["reviewed_on"] = ["Give the date of the clinical review."]
    elif reviewed_on > timezone.localdate():
        errors["reviewed_on"] = ["The review cannot be in the future."]
    elif reviewed_on < loaded_on:
        errors["reviewed_on"] = [
            f"The review cannot be before checklist {row.version} was loaded ({loaded_on.isoformat()}): "
            "give the date the clinician reviewed this content."
        ]
    remaining = content.placeholders(row.content)
    if remaining:
        errors["content"] = [
            f"Checklist {row.version} cannot be approved: it still contains the placeholder "
            f'"{content.PLACEHOLDER_MARKER}" in {"; ".join(remaining)}. A clinician must replace it with the '
            "confirmed text in the content file, loaded as a new version, before it is approved."
        ]
    return errors


def _approval_error_message(errors: dict) -> str:
    if "content" in errors:
        return errors["content"][0]
    return "The sign-off has errors: see fields."


def withdraw_version(*, actor, version_id: int, reason: str) -> ChecklistVersion:
    """Stop serving a version (a fault found, a guideline changed). Only a clinical safety officer
    may, with a reason. Withdrawing the only approved version leaves production with no checklist
    to serve: the API says so and the app keeps its saved copy (see docs/clinical-content.md)."""
    _require_clinical_safety_officer(actor, "withdraw a checklist version")
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say why the version is withdrawn.", fields={"reason": ["Say why it is withdrawn."]})
    with transaction.atomic():
        row = _locked(version_id)
        if row.status == SignOffStatus.WITHDRAWN:
            raise Conflict(f"Checklist {row.version} is already withdrawn.")
        _set_status(actor, row, SignOffStatus.WITHDRAWN, reason)
    return row


def serves_drafts() -> bool:
    """Development serves drafts (with the app's banner); production never does."""
    return not settings.PRODUCTION


def served_version() -> ChecklistVersion | None:
    """The version phones get: the newest approved one; in development, the newest not withdrawn."""
    statuses = [SignOffStatus.APPROVED] + ([SignOffStatus.DRAFT] if serves_drafts() else [])
    candidates = list(ChecklistVersion.objects.filter(status__in=statuses).only("version"))
    if not candidates:
        return None
    newest = max(candidates, key=lambda row: version_key(row.version))
    return ChecklistVersion.objects.get(pk=newest.pk)


def served_checklist() -> dict:
    """What GET /api/v1/checklist/ answers: the served version with its sign-off."""
    row = served_version()
    if row is None:
        raise NoApprovedChecklist(
            "No clinically approved version of the on-scene checklist is available: a clinical safety "
            "officer must approve one in the admin."
        )
    return served_document(row)


def served_document(row: ChecklistVersion) -> dict:
    """The checklist as the API sends it: the content as reviewed, with its sign-off."""
    reviewer = (
        {"name": row.reviewer_name, "role": row.reviewer_role, "registration": row.reviewer_registration}
        if row.reviewer_name
        else None
    )
    return {
        **row.content,
        "sign_off": {
            "status": row.status,
            "approved": row.status == SignOffStatus.APPROVED,
            "reviewer": reviewer,
            "reviewed_on": row.reviewed_on.isoformat() if row.reviewed_on else None,
        },
    }


def _require_clinical_safety_officer(actor, what: str) -> None:
    if not roles.is_clinical_safety_officer(actor):
        raise NotAllowed(f"Only a clinical safety officer may {what}.")


def _locked(version_id: int) -> ChecklistVersion:
    row = ChecklistVersion.objects.select_for_update().filter(pk=version_id).first()
    if row is None:
        raise NotFound("No such checklist version.")
    return row


def _set_status(actor, row: ChecklistVersion, status: str, reason: str) -> None:
    previous = row.status
    row.status = status
    row.status_reason = reason
    row.status_changed_at = timezone.now()
    row.status_changed_by = actor
    row.save()
    _audit(
        actor,
        AuditAction.CHANGE,
        row,
        {
            "from_status": previous,
            "status": status,
            "reviewer_name": row.reviewer_name,
            "reviewer_role": row.reviewer_role,
            "reviewer_registration": row.reviewer_registration,
            "reviewed_on": row.reviewed_on.isoformat() if row.reviewed_on else None,
            "content_sha256": row.content_sha256,
            "reason": reason,
        },
    )


def _audit(actor, action: AuditAction, row: ChecklistVersion, detail: dict) -> None:
    log.record(actor, action, OBJECT_TYPE, row.pk, detail={"version": row.version, **detail})
