"""Every change to an after-call record, one function each, each owning its transaction and writing
its audit entry in it: submitting a form, its author changing it while it is open, a coordinator
amending it (the only way once it is locked). Opening a form is here too, because reading a
record is audited.

A phone on a bad network resends a submission until it gets an answer, so every write carries the
phone's key. The same key with the same body returns what was stored and creates nothing; the same
key with a different body is refused (silently keeping either would lose the other). Unique
constraints make that hold for copies arriving at the same moment on different connections.
"""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import formats, timezone

from backend import patient_identifiers
from backend.audit import log
from backend.audit.models import AuditAction
from backend.dispatch import access as dispatch_access
from backend.errors import Conflict, InvalidInput, NotFound
from backend.idempotency import body_hash
from backend.records import access, payloads, prefill, summaries, validation
from backend.records.models import Amendment, CadTimes, FollowUp, Outcome, RecordKind
from backend.records.notify import notify_welfare_leads_after_commit

REASON_REQUIRED = "Say why you are changing this record."


class KeyReused(Conflict):
    code = "idempotency_key_reused"


class AlreadySubmitted(Conflict):
    code = "already_submitted"


class Locked(Conflict):
    code = "locked"


@dataclass(frozen=True)
class Form:
    """What the app needs to show a form: the stored record (or None), what the server knows to
    fill it in with, and whether this user may change it now."""

    kind: str
    record: object | None
    prefill: dict
    editable: bool
    # The ambulance service's own times (outcome form only; read-only there): see record_cad_times.
    cad_times: dict | None = None
    # Whether the crew owes the outcome form and who fills it in (outcome form only): the forms
    # list and the form's page say the same from it (access.OutcomeDuty).
    outcome_duty: dict | None = None
    # This firefighter owes their own forms (attendance, welfare): false when they never set off
    # (access.never_set_off), as the forms list's `own_forms_expected`, so the form's page need not
    # wait for the list to say so (found by the eleventh trial: "Not started" then "Not needed").
    own_forms_expected: bool = True
    # The prefill's fields that are estimates (prefill.estimated): the app says so beside them.
    estimated: tuple[str, ...] = ()


def open_form(*, actor, kind: str, alert_id) -> Form:
    """The form of the actor's own accepted alert. Reading a stored record is audited."""
    alert = access.accepted_alert(actor, kind, alert_id)
    with transaction.atomic():
        record = access.record_of_alert(kind, alert)
        if record is not None:
            log.record(actor, AuditAction.VIEW, kind, record.pk, incident_id=alert.incident_id)
    duty = access.outcome_duty(alert) if kind == RecordKind.OUTCOME else None
    may_write = duty is None or duty.falls_to(alert)
    editable = may_write and (record is None or not payloads.is_locked(record))
    own = not access.never_set_off(alert, access.logged_on_scene(alert))
    estimated = tuple(prefill.estimated(kind, alert))
    if duty is None:
        return Form(kind, record, prefill.prefill(kind, alert), editable, own_forms_expected=own, estimated=estimated)
    cad_times = payloads.cad_times_payload(alert.incident_id)
    duty_payload = payloads.outcome_duty_payload(duty, alert)
    return Form(kind, record, prefill.prefill(kind, alert), editable, cad_times, duty_payload, own, estimated)


CAD_TIMES_PERMISSION = "records.record_cad_times"


def record_cad_times(*, actor, incident_id, fields) -> CadTimes:
    """The ambulance service's CAD sends its own times of an incident (999 call received, ambulance
    at scene), or a coordinator enters them when the CAD's link cannot: stored beside the
    incident, shown read-only on the crews' outcome forms, exported to the registry. Sending the
    same times again changes nothing (a retry is harmless); null clears a time. Audited with the
    names of the times changed."""
    values = validation.parse_cad_times(fields)
    with transaction.atomic():
        incident = dispatch_access.access_incident_for_coordinator(
            actor, incident_id, permission=CAD_TIMES_PERMISSION, doing="send the CAD's times", for_update=True
        )
        stored = CadTimes.objects.filter(incident=incident).first() or CadTimes(incident=incident)
        merged = {name: values.get(name, getattr(stored, name)) for name in validation.CAD_TIME_FIELDS}
        validation.check_cad_times(merged, incident=incident, now=timezone.now())
        changed = sorted(name for name, value in merged.items() if value != getattr(stored, name))
        if changed or stored._state.adding:
            for name, value in merged.items():
                setattr(stored, name, value)
            stored.updated_at = timezone.now()
            stored.updated_by = actor
            stored.save()
        log.record(
            actor, AuditAction.CHANGE, "cad_times", incident.pk, incident_id=incident.pk, detail={"changed": changed}
        )
    return stored


def submit_record(*, actor, kind: str, alert_id, idempotency_key: uuid.UUID, fields: dict):
    """Store a form for the actor's own accepted alert. Returns (record, created): created is False
    for a retry of a submission already stored under this key."""
    values = validation.parse(kind, fields, partial=False)
    digest = body_hash({"kind": kind, "fields": values})
    now = timezone.now()
    with transaction.atomic():
        alert = access.accepted_alert(actor, kind, alert_id)
        if kind == RecordKind.OUTCOME:
            access.require_outcome_writer(alert)
        retry = _submission_retry(kind, alert, idempotency_key, digest)
        if retry is None and access.record_of_alert(kind, alert) is None:
            record = validation.with_defaults(kind, values)
            validation.check(kind, record, incident=alert.incident, now=now, crew_ids=_crew_ids_of_alert(kind, alert))
            try:
                with transaction.atomic():  # a savepoint: a duplicate must not spoil the transaction
                    created = _create(actor, kind, alert, idempotency_key, digest, record, now)
            except IntegrityError:
                pass  # another copy (or another crew member's form) committed since we looked: see below
            else:
                detail = {"fields": sorted(values)}
                log.record(actor, AuditAction.CREATE, kind, created.pk, incident_id=alert.incident_id, detail=detail)
                return created, True
        # A record exists. Look again for this key: a copy of this very submission may have
        # committed between the look-ups above, or made our insert fail.
        retry = retry or _submission_retry(kind, alert, idempotency_key, digest)
        if retry is not None:
            log.record(actor, AuditAction.VIEW, kind, retry.pk, incident_id=alert.incident_id, detail={"retry": True})
            return retry, False
        existing = access.record_of_alert(kind, alert)
        if existing is None:
            raise IntegrityError(f"The {kind} form could not be stored, and no record is there.")
        # The form was already submitted under another key. The refusal carries the record (the
        # author may read it), so reading it is audited, and committed before refusing.
        log.record(actor, AuditAction.VIEW, kind, existing.pk, incident_id=alert.incident_id)
    raise AlreadySubmitted(
        f"This {RecordKind(kind).label.lower()} form was already submitted. Send changes with PATCH, with a reason.",
        extra={"record": payloads.record_payload(kind, existing)},
    )


def change_record(*, actor, kind: str, alert_id, idempotency_key: uuid.UUID, reason: str, fields: dict):
    """The author changes their form while it is open (RECORDS_LOCK_HOURS after it was submitted;
    a welfare check-in never locks), with a reason. For the outcome form the author is whoever fills it
    in for the crew (access.outcome_duty)."""
    reason = _required_reason(reason)
    values = validation.parse(kind, fields, partial=True)
    with transaction.atomic():
        alert = access.accepted_alert(actor, kind, alert_id)
        if kind == RecordKind.OUTCOME:
            access.require_outcome_writer(alert)
        record = access.record_of_alert(kind, alert, for_update=True)
        if record is None:
            raise NotFound("This form has not been submitted yet: submit it first (POST).")
        digest = _change_hash(kind, record, reason, values)
        retry = _change_retry(kind, record, idempotency_key, digest)
        if retry is not None:
            log.record(actor, AuditAction.VIEW, kind, record.pk, incident_id=alert.incident_id, detail={"retry": True})
            return retry
        if payloads.is_locked(record):
            raise Locked(
                f"This record was locked {settings.RECORDS_LOCK_HOURS} hours after it was submitted. "
                "Ask a coordinator to amend it."
            )
        return _apply_change(
            actor, kind, record, values, reason=reason, key=idempotency_key, digest=digest, incident=alert.incident
        )


def amend_record(*, actor, kind: str, record_id, idempotency_key: uuid.UUID, reason: str, fields: dict):
    """A coordinator amends an attendance or outcome record, locked or not, with a reason."""
    with transaction.atomic():
        record = access.record_for_coordinator(actor, kind, record_id, for_update=True)
        reason = _required_reason(reason)
        values = validation.parse(kind, fields, partial=True)
        incident = record.incident if kind == RecordKind.OUTCOME else record.alert.incident
        digest = _change_hash(kind, record, reason, values)
        retry = _change_retry(kind, record, idempotency_key, digest)
        if retry is not None:
            log.record(actor, AuditAction.VIEW, kind, record.pk, incident_id=incident.pk, detail={"retry": True})
            return retry
        return _apply_change(
            actor,
            kind,
            record,
            values,
            reason=reason,
            key=idempotency_key,
            digest=digest,
            incident=incident,
            by_coordinator=True,
        )


# --- Shared steps -------------------------------------------------------------------------------------


def _change_hash(kind: str, record, reason: str, values: dict) -> str:
    return body_hash({"kind": kind, "record": record.pk, "reason": reason, "fields": values})


def _required_reason(reason) -> str:
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise InvalidInput(REASON_REQUIRED, fields={"reason": [REASON_REQUIRED]})
    if "\x00" in reason:
        raise InvalidInput("The reason has errors.", fields={"reason": ["Text cannot contain a null character."]})
    if len(reason) > payloads.REASON_MAX_LENGTH:
        message = f"Keep the reason to {payloads.REASON_MAX_LENGTH} characters (it has {len(reason)})."
        raise InvalidInput(message, fields={"reason": [message]})
    identifier = patient_identifiers.refusal(reason, what="the reason")
    if identifier is not None:
        raise InvalidInput("The reason has errors.", fields={"reason": [identifier]})
    return reason


def _submission_retry(kind: str, alert, idempotency_key, digest: str):
    """The record stored under this key, if this is a retry of its submission; KeyReused if the key
    was used for something else (another body, or another form of this kind)."""
    stored = access.MODELS[kind].objects.filter(idempotency_key=idempotency_key).first()
    if stored is None:
        return None
    if stored.body_hash != digest or stored.pk != getattr(access.record_of_alert(kind, alert), "pk", None):
        raise _key_reused()
    return stored


def _change_retry(kind: str, record, idempotency_key, digest: str):
    """The record, if this change was already made under this key (a retry); KeyReused if the key
    was used for something else."""
    if record.idempotency_key == idempotency_key:
        raise _key_reused()
    stored = Amendment.objects.filter(idempotency_key=idempotency_key).first()
    if stored is None:
        return None
    if stored.body_hash != digest or stored.record_kind != kind or stored.record_id != record.pk:
        raise _key_reused()
    return record


def _key_reused() -> KeyReused:
    return KeyReused(
        "This idempotency key was already used for a different submission. Make a new key for each new "
        "submission; resend the same submission unchanged to retry it.",
        fields={"idempotency_key": ["Already used for a different submission."]},
    )


def _crew_ids_of_alert(kind: str, alert) -> set[int]:
    if kind != RecordKind.OUTCOME:
        return set()
    return access.crew_ids(alert.incident_id, alert.station_id)


def _create(actor, kind: str, alert, idempotency_key, digest: str, values: dict, now):
    common = {
        "idempotency_key": idempotency_key,
        "body_hash": digest,
        "submitted_by": actor,
        "submitted_at": now,
        "updated_at": now,
    }
    values = dict(values)
    if kind == RecordKind.OUTCOME:
        crew = values.pop("crew")
        record = Outcome.objects.create(incident=alert.incident, station_id=alert.station_id, **common, **values)
        record.crew.set(crew)
        _update_the_reports(kind, record, alert.incident)
        return record
    record = access.MODELS[kind].objects.create(alert=alert, **common, **values)
    _update_the_reports(kind, record, alert.incident)
    if kind == RecordKind.WELFARE and record.follow_up != FollowUp.NONE:
        notify_welfare_leads_after_commit(record)
    return record


def _update_the_reports(kind: str, record, incident) -> None:
    """What the reports count changed (backend.records.summaries): an attendance form changes its
    alert's summary; an outcome form, the figures kept for its incident's month. Welfare check-ins
    are not counted."""
    if kind == RecordKind.ATTENDANCE:
        summaries.summarise_alerts([record.alert_id])
    elif kind == RecordKind.OUTCOME:
        summaries.note_changed_incidents([incident.created_at])


def _apply_change(
    actor, kind: str, record, values: dict, *, reason: str, key, digest: str, incident, by_coordinator: bool = False
):
    if record.pseudonymised_at is not None:
        when = formats.date_format(timezone.localtime(record.pseudonymised_at), "j M Y")
        raise Conflict(f"This record was pseudonymised on {when} under the retention policy; it cannot be changed.")
    current = payloads.field_values(kind, record)
    changed = [name for name, value in values.items() if value != current[name]]
    if not changed:
        raise InvalidInput("Nothing to change: every value sent is the one already stored.")
    station_id = record.station_id if kind == RecordKind.OUTCOME else None
    crew_ids = access.crew_ids(incident.pk, station_id) if kind == RecordKind.OUTCOME else set()
    validation.check(kind, {**current, **values}, incident=incident, now=timezone.now(), crew_ids=crew_ids)
    now = timezone.now()
    for name in changed:
        if name != "crew":
            setattr(record, name, values[name])
    record.version += 1
    record.updated_at = now
    record.save()
    if "crew" in changed:
        record.crew.set(values["crew"])
    _update_the_reports(kind, record, incident)
    try:
        with transaction.atomic():
            amendment = Amendment.objects.create(
                idempotency_key=key,
                body_hash=digest,
                record_kind=kind,
                record_id=record.pk,
                amended_by=actor,
                by_coordinator=by_coordinator,
                reason=reason,
                changed_fields=changed,
                at=now,
                version=record.version,
            )
    except IntegrityError:
        # Copies of this change wait for the record's row lock and then find it as a retry; a key
        # taken at the same moment by a change of another record is a misuse.
        raise _key_reused() from None
    action = AuditAction.AMEND if by_coordinator else AuditAction.CHANGE
    log.record(
        actor,
        action,
        kind,
        record.pk,
        incident_id=incident.pk,
        detail={"changed_fields": changed, "version": record.version, "amendment_id": amendment.pk},
    )
    asks_for_follow_up = "follow_up" in changed and record.follow_up != FollowUp.NONE
    if kind == RecordKind.WELFARE and asks_for_follow_up and record.welfare_leads_notified_at is None:
        notify_welfare_leads_after_commit(record)
    return record


def record_reads(actor, kind: str, records, *, incident_of) -> None:
    """Audit a page of records shown at once (the welfare leads' list, an admin changelist): one
    entry each, written in one insert."""
    items = [(kind, record.pk, incident_of(record), {"list": True}) for record in records]
    with transaction.atomic():
        log.record_many(actor, AuditAction.VIEW, items)
