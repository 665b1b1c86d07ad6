"""The audit trail in the admin shows its times on the 24-hour clock, as the rest of the product does
(Django's own British English would say "5:58 p.m.")."""

import datetime
import zoneinfo

from django.urls import reverse

from backend.audit.models import AuditAction, AuditEntry
from tests.conftest import admin_client_for

LONDON = zoneinfo.ZoneInfo("Europe/London")


def test_an_entrys_time_is_shown_on_the_24_hour_clock(carol):
    entry = AuditEntry.objects.create(
        at=datetime.datetime(2026, 3, 1, 17, 58, 4, tzinfo=LONDON),
        actor=carol,
        actor_username=carol.username,
        role="coordinator",
        action=AuditAction.VIEW,
        object_type="incident",
        object_id="1",
    )
    client = admin_client_for(carol)

    listing = client.get(reverse("admin:audit_auditentry_changelist")).content.decode()
    page = client.get(reverse("admin:audit_auditentry_change", args=[entry.pk])).content.decode()

    for content in (listing, page):
        assert "1 Mar 2026, 17:58:04" in content
        assert "p.m." not in content and "a.m." not in content
