"""Telling the welfare leads that a firefighter asked for a follow-up.

The email says only that: no name, no incident, nothing of how the firefighter feels. The welfare
lead follows the link and reads the check-in in the admin, where reading it is audited.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from backend.accounts.roles import WELFARE_LEADS
from backend.records.models import WelfareCheckIn

logger = logging.getLogger(__name__)

SUBJECT = "A firefighter asked for a welfare follow-up"


def notify_welfare_leads_after_commit(check_in: WelfareCheckIn) -> None:
    """Once the check-in is stored, email the welfare leads. If the submission rolls back, nobody
    is told about a request that does not exist."""
    check_in_id = check_in.pk
    transaction.on_commit(lambda: notify_welfare_leads(check_in_id))


def notify_welfare_leads(check_in_id: int) -> None:
    recipients = welfare_lead_addresses()
    if not recipients:
        logger.warning(
            "Welfare check-in %s asks for a follow-up, but no welfare lead has an email address.", check_in_id
        )
        return
    link = settings.PUBLIC_BASE_URL + reverse("admin:records_welfarecheckin_change", args=[check_in_id])
    body = (
        "A firefighter has asked for a follow-up after a call.\n\n"
        f"Read their check-in (you will be asked to log in): {link}\n\n"
        "This email holds no details on purpose; they are only in the admin."
    )
    try:
        send_mass_mail([(SUBJECT, body, None, [address]) for address in recipients], fail_silently=False)
    except Exception:  # the check-in is stored; a failed email must not turn into a server error
        logger.exception("Could not email the welfare leads about check-in %s.", check_in_id)
        return
    WelfareCheckIn.objects.filter(pk=check_in_id, welfare_leads_notified_at__isnull=True).update(
        welfare_leads_notified_at=timezone.now()
    )


def welfare_lead_addresses() -> list[str]:
    users = get_user_model().objects.filter(is_active=True, groups__name=WELFARE_LEADS).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))
