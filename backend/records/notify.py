"""Telling the welfare leads that a firefighter asked for a follow-up.

The email says only that: no name, no incident, nothing of how the firefighter feels. The welfare
lead follows the link and reads the check-in in the admin, where reading it is audited.

Nothing is sent in the firefighter's request: a slow mail relay would delay their answer and a
failing one would lose the request. The check-in row itself is the durable "still to tell them"
marker (a follow-up asked for, `welfare_leads_notified_at` empty), and a pass of the worker
(registered in records/apps.py) sends due emails with `send_due_welfare_emails`, retrying with
backoff until the relay takes them. Nothing here reads the check-in's impact or notes, so no log line can
carry them.
"""

import datetime
import logging
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from backend.backoff import backoff_seconds
from backend.records.models import FollowUp, WelfareCheckIn
from backend.roles import WELFARE_LEADS
from backend.scheduling import wake_workers_on_commit

logger = logging.getLogger(__name__)

SUBJECT = "A firefighter asked for a welfare follow-up"
NO_ADDRESS = "No active welfare lead has an email address."
# An email is not an alert: once the relay has been failing for a while, a try every quarter of an
# hour is soon enough, and it never gives up (a request for support must not be dropped).
RETRY_MAX_SECONDS = 15 * 60
# After this many failed attempts (about half a minute of backoff) a request the mail relay keeps
# refusing is shown to the coordinators as not getting through (undelivered_welfare_requests).
UNDELIVERED_AFTER_ATTEMPTS = 5


@dataclass(frozen=True)
class WelfareEmail:
    """One claimed attempt to tell the welfare leads about one check-in. `attempt` is the claim's
    token: only the worker whose attempt it still is may record a failure."""

    check_in_id: int
    attempt: int
    recipients: tuple[str, ...]


def notify_welfare_leads_after_commit(check_in: WelfareCheckIn) -> None:
    """Called when a check-in asks for a follow-up. The stored row is what makes the worker send the
    email, so all this does is wake the workers once the check-in is committed (if the submission
    rolls back there is nothing to tell, and the worker finds nothing)."""
    wake_workers_on_commit()


# --- The worker's pass --------------------------------------------------------------------------------


async def send_due_welfare_emails(*, limit: int = 10, now: datetime.datetime | None = None) -> int:
    """Email the welfare leads about up to `limit` due check-ins, one at a time; returns how many
    were sent. The database steps run on the caller's database thread; only the talk with the mail
    relay runs on another thread, so a slow relay holds up nothing else."""
    sent = 0
    for _ in range(limit):
        email = await sync_to_async(claim_due_welfare_email)(now=now)
        if email is None:
            break
        if not email.recipients:
            # A welfare lead may be given an address later: keep the request and try again.
            retry_at = await sync_to_async(record_welfare_email_failed)(email, NO_ADDRESS, now=now)
            logger.warning(
                "Welfare check-in %s asks for a follow-up, but no active welfare lead has an email address "
                "(attempt %d); trying again at %s.",
                email.check_in_id,
                email.attempt,
                retry_at.isoformat(),
                extra=_log_fields(email, "no_address"),
            )
            continue
        try:
            await sync_to_async(send_welfare_email, thread_sensitive=False)(email)
        except Exception as error:  # any failure of the relay: the request stays due and is retried
            # The relay's message can name a recipient: it is kept on the check-in (read only by
            # welfare leads), and the log has the kind of failure only.
            reason = f"{type(error).__name__}: {error}"
            retry_at = await sync_to_async(record_welfare_email_failed)(email, reason, now=now)
            logger.warning(
                "Could not email the welfare leads about check-in %s (attempt %d): %s; trying again at %s.",
                email.check_in_id,
                email.attempt,
                type(error).__name__,
                retry_at.isoformat(),
                extra=_log_fields(email, "failed"),
            )
            continue
        await sync_to_async(record_welfare_email_sent)(email, now=now)
        logger.info("Welfare leads emailed about check-in %s", email.check_in_id, extra=_log_fields(email, "sent"))
        sent += 1
    return sent


def _log_fields(email: WelfareEmail, outcome: str) -> dict:
    """Ids and counts only: never the check-in's impact or notes, nor the addresses."""
    return {
        "event": f"welfare_email.{outcome}",
        "check_in_id": email.check_in_id,
        "attempt": email.attempt,
        "recipients": len(email.recipients),
    }


# --- Steps (sync) -------------------------------------------------------------------------------------


def due_welfare_emails(now: datetime.datetime):
    # Not one pseudonymised under the retention policy: years old, its author unlinked, it is no
    # longer a request anyone can follow up (it could be one whose email failed before the worker
    # sent them).
    return (
        WelfareCheckIn.objects.filter(welfare_leads_notified_at__isnull=True, pseudonymised_at__isnull=True)
        .exclude(follow_up=FollowUp.NONE)
        .filter(Q(welfare_notice_next_attempt_at__isnull=True) | Q(welfare_notice_next_attempt_at__lte=now))
    )


def claim_due_welfare_email(*, now: datetime.datetime | None = None) -> WelfareEmail | None:
    """Claim the check-in longest due, or None. On PostgreSQL a row another worker is claiming is
    skipped, never waited for; on SQLite the write lock taken at BEGIN serialises claims. The claim
    moves the next attempt past the lease, so no other worker takes it while this one sends; if
    this worker dies, the row comes due again when the lease ends."""
    now = now or timezone.now()
    with transaction.atomic():
        row = (
            due_welfare_emails(now)
            .select_for_update(skip_locked=True)
            .order_by(F("welfare_notice_next_attempt_at").asc(nulls_first=True), "pk")
            .values_list("pk", "welfare_notice_attempts")
            .first()
        )
        if row is None:
            return None
        check_in_id, attempts = row
        WelfareCheckIn.objects.filter(pk=check_in_id).update(
            welfare_notice_attempts=attempts + 1, welfare_notice_next_attempt_at=now + lease()
        )
        recipients = tuple(welfare_lead_addresses())
    return WelfareEmail(check_in_id=check_in_id, attempt=attempts + 1, recipients=recipients)


def lease() -> datetime.timedelta:
    """Long enough for one email to every welfare lead: each step of the talk with the relay may
    take up to EMAIL_TIMEOUT. A lease that runs out early costs a duplicate email, never a lost one."""
    return datetime.timedelta(seconds=max(settings.DELIVERY_LEASE_SECONDS, 10 * settings.EMAIL_TIMEOUT))


def send_welfare_email(email: WelfareEmail) -> None:
    """Hand one message per welfare lead to the mail relay. Raises if the relay fails. No database."""
    link = settings.PUBLIC_BASE_URL + reverse("admin:records_welfarecheckin_change", args=[email.check_in_id])
    body = (
        "A firefighter has asked for a follow-up after a call.\n\n"
        f"Read their check-in (you will be asked to log in): {link}\n\n"
        "This email holds no details on purpose; they are only in the admin."
    )
    send_mass_mail([(SUBJECT, body, None, [address]) for address in email.recipients], fail_silently=False)


def record_welfare_email_sent(email: WelfareEmail, *, now: datetime.datetime | None = None) -> bool:
    """Recorded whoever holds the claim by now: the leads have been told, so nobody should tell
    them again."""
    updated = WelfareCheckIn.objects.filter(pk=email.check_in_id, welfare_leads_notified_at__isnull=True).update(
        welfare_leads_notified_at=now or timezone.now(),
        welfare_notice_next_attempt_at=None,
        welfare_notice_last_error="",
    )
    return bool(updated)


def record_welfare_email_failed(
    email: WelfareEmail, reason: str, *, now: datetime.datetime | None = None
) -> datetime.datetime:
    """Schedule the next attempt with backoff; returns its time. Written only while the attempt is
    still this claim's: a worker whose lease ran out must not shorten the next claimant's lease."""
    retry_at = (now or timezone.now()) + datetime.timedelta(
        seconds=backoff_seconds(email.attempt, max_seconds=RETRY_MAX_SECONDS)
    )
    still_ours = WelfareCheckIn.objects.filter(
        pk=email.check_in_id, welfare_leads_notified_at__isnull=True, welfare_notice_attempts=email.attempt
    )
    still_ours.update(
        welfare_notice_next_attempt_at=retry_at, welfare_notice_last_error=f"Attempt {email.attempt}: {reason}"[:300]
    )
    return retry_at


def waiting_welfare_requests():
    """The follow-ups asked for that the welfare leads have not been emailed about (any attempt so
    far, or none yet): the requests still to tell them of."""
    return WelfareCheckIn.objects.filter(welfare_leads_notified_at__isnull=True, pseudonymised_at__isnull=True).exclude(
        follow_up=FollowUp.NONE
    )


def undelivered_welfare_requests():
    """The waiting requests that are not getting through: every one while no active welfare lead has
    an email address (nobody could be told), else those the mail relay has failed
    UNDELIVERED_AFTER_ATTEMPTS times or more. The worker keeps trying them; this is what the
    coordinators are told of (backend/records/notices.py). Found by a trial: the demo's welfare lead
    had no address, the worker retried in silence and only the check-in's own page said so."""
    waiting = waiting_welfare_requests()
    if not welfare_lead_addresses():
        return waiting
    return waiting.filter(welfare_notice_attempts__gte=UNDELIVERED_AFTER_ATTEMPTS).exclude(welfare_notice_last_error="")


def welfare_lead_addresses() -> list[str]:
    users = get_user_model().objects.filter(is_active=True, groups__name=WELFARE_LEADS).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))
