"""Writing the audit trail. Every access to a record of a call and every alert state change goes
through here, in the same transaction as what it records, so an entry exists exactly when the
thing it describes happened.

Where an access came from (the channel and the client's address) is set once per HTTP request by
backend.audit.middleware.AuditOriginMiddleware, so actions deep in the code (a dispatch called from
the admin or the API) record it without every caller passing it down. Outside a request (the
escalation worker, a management command) the channel is "system" unless the caller says otherwise.
"""

import contextlib
import contextvars
from dataclasses import dataclass

from django.utils import timezone

from backend.audit.models import AuditAction, AuditEntry
from backend.bulk_rows import OnePerRow, insert_values
from backend.roles import role_of


@dataclass(frozen=True)
class Origin:
    channel: str
    ip_address: str | None = None


SYSTEM = Origin("system")
# The object type of entries about welfare check-ins (records.RecordKind.WELFARE): the admin shows
# them to welfare leads only, without the audit trail depending on the records app.
WELFARE_CHECK_INS = "welfare"
_current_origin: contextvars.ContextVar[Origin] = contextvars.ContextVar("audit_origin", default=SYSTEM)


@contextlib.contextmanager
def acting_from(origin: Origin):
    """Record entries written inside this block as coming from `origin` (e.g. a socket consumer:
    `with acting_from(Origin("socket", address)): ...`)."""
    token = _current_origin.set(origin)
    try:
        yield
    finally:
        _current_origin.reset(token)


def current_origin() -> Origin:
    return _current_origin.get()


def record(
    actor,
    action: AuditAction,
    object_type: str,
    object_id="",
    *,
    incident_id: int | None = None,
    channel: str | None = None,
    ip_address: str | None = None,
    request=None,
    detail: dict | None = None,
) -> AuditEntry:
    """Append one entry. Pass `request` (an HttpRequest or DRF Request) to take the address from
    it; otherwise the channel and address are those of the current request, if any. `detail` must
    hold names and ids only, never health data values."""
    if request is not None and ip_address is None:
        ip_address = client_address(request)
    return AuditEntry.objects.create(
        **_entry_fields(actor, action, object_type, object_id, incident_id, channel, ip_address, detail)
    )


def record_many(actor, action: AuditAction, items: list[tuple[str, object, int | None, dict]]) -> None:
    """Append one entry per (object_type, object_id, incident_id, detail) in one insert: for an
    action that touches many objects at once (a dispatch, a stand-down, a list of check-ins). The
    rows go in as values, with no AuditEntry built for each (issue 17 item 2: 20 entries' instances
    cost a dispatch more than their insert)."""
    if not items:
        return
    shared = _entry_columns(_entry_fields(actor, action, "", "", None, None, None, None))
    insert_values(
        AuditEntry,
        [
            {
                **shared,
                "object_type": object_type,
                "object_id": str(object_id),
                "incident_id": incident_id,
                "detail": detail or {},
            }
            for object_type, object_id, incident_id, detail in items
        ],
        returning=False,
    )


def new_alert_entries(actor, *, incident_id: int, state: str) -> OnePerRow:
    """record_alert_changes' entries for new alerts of one incident, all in one state, to be written
    with the alerts themselves (`insert_rows(alerts, one_per_row=...)`: in the same statement on
    PostgreSQL), each naming its alert by the id the insert gives it."""
    fields = _entry_fields(actor, AuditAction.ALERT_STATE, "alert", "", incident_id, None, None, {"state": state})
    return OnePerRow(AuditEntry, values=_entry_columns(fields), pk_into="object_id")


def new_incident_entry(actor) -> OnePerRow:
    """The entry for a new incident (`create`, object type `incident`, no detail: its address and
    notes are free text and stay on the incident), to be written with the incident itself
    (`insert_rows([incident], one_per_row=...)`: in the same statement on PostgreSQL), naming it by
    the id the insert gives it, as its object and as its incident."""
    fields = _entry_fields(actor, AuditAction.CREATE, "incident", "", None, None, None, None)
    return OnePerRow(AuditEntry, values=_entry_columns(fields), pk_into=("object_id", "incident_id"))


def _entry_columns(fields: dict) -> dict:
    """_entry_fields by column (the actor by its id)."""
    columns = dict(fields)
    actor = columns.pop("actor")
    columns["actor_id"] = actor.pk if actor is not None else None
    return columns


def record_alert_changes(actor, alerts) -> None:
    """One entry per alert whose state just changed (or that was just created), in one insert: who
    did it, and the state each alert is now in. Nothing else of the alert (no address, no note)."""
    record_many(
        actor,
        AuditAction.ALERT_STATE,
        [("alert", alert.pk, alert.incident_id, {"state": alert.state}) for alert in alerts],
    )


def record_overrides(actor, alerts_and_incidents) -> None:
    """One entry per (alert, incident id) where a coordinator alerted, by name, a responder already
    committed to that other open incident: the override of the commitment rule, visible later."""
    record_many(
        actor,
        AuditAction.OVERRIDE,
        [
            ("alert", alert.pk, alert.incident_id, {"committed_to_incident": committed_to})
            for alert, committed_to in alerts_and_incidents
        ],
    )


def _entry_fields(actor, action, object_type, object_id, incident_id, channel, ip_address, detail) -> dict:
    origin = current_origin()
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return {
        "at": timezone.now(),
        "actor": user,
        "actor_username": user.get_username() if user else "",
        "role": role_of(user) if user else "system",
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id) if object_id is not None else "",
        "incident_id": incident_id,
        "channel": channel or origin.channel,
        "ip_address": ip_address or origin.ip_address,
        "detail": detail or {},
    }


def client_address(request) -> str | None:
    """The address the request came from, as the server saw it. Behind a reverse proxy daphne is
    run with --proxy-headers, which puts the client's address here; a header a client sets itself
    is never trusted."""
    address = request.META.get("REMOTE_ADDR") if hasattr(request, "META") else None
    return address or None
