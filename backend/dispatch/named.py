"""Whom a coordinator may alert by name to an incident, for the board's "Alert a named responder"
(the admin's form, backend/dispatch/admin.py AlertNamedForm, lists the same people): anyone on call
with training in date, wherever they are, not already active on this incident; nearest first. Those
committed to another incident are listed with it: alerting them is the override, which
dispatch_incident audits.

Those who declined this incident, or cleared from it, are listed too but marked `cannot_alert`
(with when): a dispatch does not alert them again (only someone stood down is), and the board shows
them greyed with why rather than offer a choice the server refuses (found by trying the board:
choosing someone who had declined read "Nobody was alerted: ... off call, untrained or already
alerted"). Someone who declined can still accept on their phone."""

from django.utils import timezone

from backend.dispatch import access, actions
from backend.dispatch.models import Alert, AlertState
from backend.dispatch.selection import commitments_of, eligible_responders, great_circle_km

# Answers that end an alert for good on this incident: a named dispatch does not alert them again
# (backend/dispatch/actions.py re-alerts only those stood down). Cancelled alerts belong to a
# cancelled incident, which is not dispatched.
NOT_ALERTED_AGAIN = (AlertState.DECLINED, AlertState.CLEARED)


def _iso(value):
    return value.isoformat() if value else None


def named_candidates(*, actor, incident_id: int) -> list[dict]:
    incident = access.access_incident_for_coordinator(
        actor, incident_id, permission="dispatch.dispatch_incident", doing="dispatch incidents"
    )
    active_here = Alert.objects.filter(incident=incident, state__in=actions.ACTIVE_STATES).values("responder_id")
    listed = list(
        eligible_responders(today=timezone.localdate()).exclude(pk__in=active_here).select_related("station", "user")
    )
    committed = commitments_of([responder.pk for responder in listed])
    finished_here = {
        responder_id: (state, declined_at if state == AlertState.DECLINED else cleared_at)
        for responder_id, state, declined_at, cleared_at in Alert.objects.filter(
            incident=incident, state__in=NOT_ALERTED_AGAIN
        ).values_list("responder_id", "state", "declined_at", "cleared_at")
    }

    def distance(responder) -> float:
        station = responder.station
        return great_circle_km(incident.latitude, incident.longitude, station.latitude, station.longitude)

    return [
        {
            "id": responder.pk,
            "name": responder.display_name,
            "station": responder.station.name,
            "distance_km": round(distance(responder), 1),
            "committed_to": committed[responder.pk].incident.cad_reference if responder.pk in committed else None,
            "cannot_alert": finished_here[responder.pk][0] if responder.pk in finished_here else None,
            "cannot_alert_since": _iso(finished_here[responder.pk][1]) if responder.pk in finished_here else None,
            # Logged out of the app: an alert reaches no open app of theirs, as their rows on the
            # board say (found by a trial: the list said "on T12-C" and nothing of it).
            "logged_out_at": _iso(responder.logged_out_at),
        }
        for responder in sorted(listed, key=distance)
    ]
