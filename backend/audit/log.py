"""Writing the audit trail. Every access to a record of a call and every alert state change goes
through `record`, in the same transaction as what it records, so an entry exists exactly when the
thing it describes happened."""

from django.utils import timezone

from backend.accounts.roles import role_of
from backend.audit.models import AuditAction, AuditEntry


def record(
    actor,
    action: AuditAction,
    object_type: str,
    object_id="",
    *,
    incident_id: int | None = None,
    channel: str = "api",
    ip_address: str | None = None,
    request=None,
    detail: dict | None = None,
) -> AuditEntry:
    """Append one entry. Pass `request` (an HttpRequest or DRF Request) to take the address from
    it. `detail` must hold names and ids only, never health data values."""
    if request is not None and ip_address is None:
        ip_address = client_address(request)
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        at=timezone.now(),
        actor=user,
        actor_username=user.get_username() if user else "",
        role=role_of(user) if user else "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else "",
        incident_id=incident_id,
        channel=channel,
        ip_address=ip_address,
        detail=detail or {},
    )


def client_address(request) -> str | None:
    """The address the request came from, as the server saw it. Behind a reverse proxy daphne is
    run with --proxy-headers, which puts the client's address here; a header a client sets itself
    is never trusted."""
    address = request.META.get("REMOTE_ADDR") if hasattr(request, "META") else None
    return address or None
