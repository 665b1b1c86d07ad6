"""A firefighter logging in to and out of the app, as the coordinators' boards see it.

Found by a trial: a firefighter who logged out mid-job (the app warns, then logs out) still read "En
route · seen in the open app" on the board, and the audit trail said nothing of it. Logging out ends
the session and audits it as the user's `log_out` (backend/accounts/actions.py); here it is also
kept on the responder (`Responder.logged_out_at`, which every alert's board payload carries as
`responder_logged_out_at`), written as a `log_out` entry on each of their alerts still active on an
open incident (so that the incident's trail says it), and sent to every board (`board.responder`):
the board says "logged out at 02:08:15" on their alerts at once. Logging in to the app again clears
it and tells the boards. The API's login and logout call these (docs/events.md, `board.responder`).

A coordinator's "Sign out everywhere" (the admin's action on responders and users) ends every login
of theirs and removes their push subscriptions (backend/accounts/actions.py, audited there): their
phones no longer ring, so the boards are told they logged out, and it is audited on their alerts
still active, as a logout is (sign_out_everywhere here; found in review: the boards were not told).
"""

import logging

from django.db import transaction
from django.utils import timezone

from backend.accounts import actions as account_actions
from backend.accounts import sessions as account_sessions
from backend.accounts.models import Responder
from backend.audit.log import record_many
from backend.audit.models import AuditAction
from backend.delivery.models import PushDevice
from backend.dispatch import positions
from backend.dispatch.actions import ACTIVE_STATES
from backend.dispatch.models import Alert, IncidentStatus
from backend.realtime import events
from backend.sql_literals import literals

logger = logging.getLogger(__name__)

RESPONDER_EVENT = "board.responder"


def log_in(*, request, username: str, password: str):
    """Log in to the app (accounts.actions.log_in); a responder who had logged out is shown logged
    in again on the boards. Not in one transaction with the login: a refused login's record, which
    counts towards the lockout (django-axes), must not be rolled back with it."""
    user = account_actions.log_in(request=request, username=username, password=password)
    responder = _responder_of(user)
    if responder is not None and responder.logged_out_at is not None:
        now = timezone.now()
        with transaction.atomic():
            Responder.objects.filter(pk=responder.pk).update(logged_out_at=None)
            responder.logged_out_at = None
            events.send_to_board([(RESPONDER_EVENT, responder_payload(responder, changed_at=now))])
    return user


def log_out(*, request, push_endpoint: str | None = None) -> None:
    """Log out of the app (accounts.actions.log_out, audited there); for a responder, keep when,
    audit it on their alerts still active on an open incident, and tell the boards."""
    with transaction.atomic():
        user = account_actions.log_out(request=request, push_endpoint=push_endpoint)
        responder = _responder_of(user)
        if responder is None or _still_logged_in_elsewhere(user):
            return
        alerts = _show_logged_out(user, [responder], detail={})
    transaction.on_commit(
        lambda: logger.info(
            "Responder logged out",
            extra={"event": "responder.logged_out", "responder_id": responder.pk, "alert_ids": [a.pk for a in alerts]},
        )
    )


def sign_out_everywhere(*, actor, user_ids) -> int:
    """A coordinator's "Sign out everywhere" (accounts.actions.sign_out_everywhere: permission
    checked, every login ended, every push subscription removed, audited there); each responder
    among them not already shown logged out is shown so on the boards, with a `log_out` entry of
    the coordinator's on each of their alerts still active on an open incident. Returns how many
    logins ended."""
    with transaction.atomic():
        ended = account_actions.sign_out_everywhere(actor=actor, user_ids=user_ids)
        still_shown_in = Responder.objects.filter(user_id__in=list(user_ids), logged_out_at__isnull=True)
        responders = list(still_shown_in.order_by("pk"))
        alerts = _show_logged_out(actor, responders, detail={"signed_out_everywhere": True})
    if responders:
        transaction.on_commit(
            lambda: logger.info(
                "Responders signed out everywhere",
                extra={
                    "event": "responder.signed_out_everywhere",
                    "responder_ids": [responder.pk for responder in responders],
                    "alert_ids": [alert.pk for alert in alerts],
                },
            )
        )
    return ended


def _show_logged_out(actor, responders: list[Responder], *, detail: dict) -> list[Alert]:
    """Keep that these responders logged out now, audit it (`log_out` by `actor`) on each of their
    alerts still active on an open incident, and tell every board. Returns those alerts."""
    if not responders:
        return []
    now = timezone.now()
    Responder.objects.filter(pk__in=[responder.pk for responder in responders]).update(logged_out_at=now)
    for responder in responders:
        responder.logged_out_at = now
    alerts = _active_alerts_of(responders)
    record_many(
        actor,
        AuditAction.LOG_OUT,
        [("alert", alert.pk, alert.incident_id, {"state": alert.state, **detail}) for alert in alerts],
    )
    events.send_to_board([(RESPONDER_EVENT, responder_payload(responder, changed_at=now)) for responder in responders])
    # Their phones share no more: their positions leave the maps, no estimate left as if live.
    positions.end_sharing_logged_out(alerts)
    return alerts


def set_availability(*, actor, on_call: bool) -> None:
    """Book on or off call (accounts.actions.set_availability); a change is sent to every board
    (`board.responder`), which says "off call" on their alerts still active. Found by a trial: a
    firefighter went off call while en route, and the board did not show it (their job carries on:
    going off call only stops new alerts)."""
    with transaction.atomic():
        before = _responder_of(actor)
        account_actions.set_availability(actor=actor, on_call=on_call)
        if before is None or before.on_call == on_call:
            return  # booked on (or off) call already: nothing to tell
        responder = _responder_of(actor)
        changed_at = responder.on_call_changed_at or timezone.now()
        events.send_to_board([(RESPONDER_EVENT, responder_payload(responder, changed_at=changed_at))])


def responder_payload(responder: Responder, *, changed_at) -> dict:
    """The `board.responder` frame's data: when the responder logged out of the app (null: logged
    in again), whether they are on call and since when, and when that changed (a board keeps the
    newest)."""
    logged_out_at = responder.logged_out_at
    return {
        "responder_id": responder.pk,
        "logged_out_at": logged_out_at.isoformat() if logged_out_at else None,
        "on_call": responder.on_call,
        "on_call_changed_at": responder.on_call_changed_at.isoformat() if responder.on_call_changed_at else None,
        "changed_at": changed_at.isoformat(),
    }


def _still_logged_in_elsewhere(user) -> bool:
    """Another phone of theirs still holds a push subscription, so their alerts still ring there
    (this phone's went with the logout, accounts.actions.log_out), or still holds a login (a
    session not expired; this one's was ended by the logout): the boards must not say they logged
    out. Found in review: logging out of one of two phones showed them as logged out; then by a
    browser trial, with no push phone at all: the other phone, still logged in and going, read
    "En route · logged out at 12:34:46" until they logged in again. The subscriptions first (one
    indexed query); the sessions only without one (one indexed query too: by their user id)."""
    return PushDevice.objects.filter(user_id=user.pk).exists() or account_sessions.has_live_session(user.pk)


def seen_in_app(responder: Responder | None) -> None:
    """A phone of theirs still logged in did something (answered an alert, connected its socket): a
    responder shown logged out is shown logged in again, and the boards are told, as a login does.
    A logout of one of several phones, or one from before the rule above, left the boards saying
    "logged out" while another phone was still going. No query while they are not shown logged out
    (`responder` as read, with its `logged_out_at`)."""
    if responder is None or responder.logged_out_at is None:
        return
    now = timezone.now()
    with transaction.atomic():
        if not Responder.objects.filter(pk=responder.pk, logged_out_at__isnull=False).update(logged_out_at=None):
            responder.logged_out_at = None
            return  # cleared meanwhile (a login, another request): told then
        responder.logged_out_at = None
        events.send_to_board([(RESPONDER_EVENT, responder_payload(responder, changed_at=now))])


def _responder_of(user) -> Responder | None:
    if user is None:
        return None
    return Responder.objects.filter(user_id=user.pk).first()


def _active_alerts_of(responders: list[Responder]) -> list[Alert]:
    """Their alerts still active (unanswered or going) on an open incident. The incident's status
    is looked at here, not in SQL (as actions._refuse_if_committed_elsewhere does: with it in the
    WHERE clause PostgreSQL read every open incident); the states as literals (backend/sql_literals.py)."""
    responder_ids = [responder.pk for responder in responders]
    alerts = Alert.objects.filter(responder_id__in=responder_ids, state__in=literals(ACTIVE_STATES)).select_related(
        "incident"
    )
    return [alert for alert in alerts if alert.incident.status == IncidentStatus.OPEN]
