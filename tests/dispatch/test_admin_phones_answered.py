"""The incident page's Phones table: its Answered column shows each answer with its own time, then
the state the alert is in now with that state's time. Found by trying the product: it read
"Incident cancelled 00:04:25 (+0:57)", the acceptance's time beside the later cancellation, and
"Declined 00:05:12 (+1:44)", the acceptance's time, where the Declined column said 00:05:39."""

import datetime
import re

from django.urls import reverse

from backend.dispatch.actions import cancel_incident, dispatch_incident, respond_to_alert, stand_down
from backend.dispatch.models import Alert
from tests.conftest import admin_client_for

# In winter, when the admin's local time (Europe/London) is UTC.
ALERTED = datetime.datetime(2025, 1, 15, 0, 3, 28, tzinfo=datetime.UTC)


def at(minutes: int, seconds: int) -> datetime.datetime:
    return ALERTED.replace(minute=minutes, second=seconds)


def answered_cells(page: str) -> dict[str, str]:
    """Each responder's Answered cell of the Phones table (none of them has a device)."""
    rows = re.findall(
        r"<tr><td>(\w+)</td><td>No device registered for pushes</td>(?:<td>.*?</td>){3}<td>(.*?)</td>", page
    )
    return dict(rows)


def test_each_answer_and_the_state_now_are_shown_with_their_own_times(carol, incident, alice, bob, charlie, settings):
    settings.DISPATCH_RADIUS_KM = 40  # Norwich's two and Great Yarmouth's Charlie
    alerts = {alert.responder.user.username: alert for alert in dispatch_incident(actor=carol, incident_id=incident.pk)}
    respond_to_alert(actor=alice.user, alert_id=alerts["alice"].pk, response="accept")
    respond_to_alert(actor=bob.user, alert_id=alerts["bob"].pk, response="accept")
    respond_to_alert(actor=bob.user, alert_id=alerts["bob"].pk, response="decline", reason="unavailable")
    stand_down(actor=carol, incident_id=incident.pk)  # Charlie, who has not answered
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Ambulance on scene")
    Alert.objects.update(alerted_at=ALERTED)
    Alert.objects.filter(pk=alerts["alice"].pk).update(accepted_at=at(4, 25), cancelled_at=at(5, 58))
    Alert.objects.filter(pk=alerts["bob"].pk).update(accepted_at=at(5, 12), declined_at=at(5, 39))
    Alert.objects.filter(pk=alerts["charlie"].pk).update(stood_down_at=at(4, 0))

    page = admin_client_for(carol).get(reverse("admin:dispatch_incident_change", args=[incident.pk]))

    assert answered_cells(page.content.decode()) == {
        "Alice": "Accepted 00:04:25 (+0:57); incident cancelled 00:05:58",
        "Bob": "Accepted 00:05:12 (+1:44); declined 00:05:39 (+2:11)",
        "Charlie": "Stood down 00:04:00",
    }
