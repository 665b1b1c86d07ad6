"""Whom a coordinator may alert by name to an incident, for the board's "Alert a named responder"
(the admin's form, backend/dispatch/admin.py AlertNamedForm, lists the same people): anyone on call
with training in date, wherever they are, not already active on this incident; nearest first. Those
committed to another incident are listed with it: alerting them is the override, which
dispatch_incident audits."""

from django.utils import timezone

from backend.dispatch import access, actions
from backend.dispatch.models import Alert
from backend.dispatch.selection import commitments_of, eligible_responders, great_circle_km


def named_candidates(*, actor, incident_id: int) -> list[dict]:
    incident = access.access_incident_for_coordinator(
        actor, incident_id, permission="dispatch.dispatch_incident", doing="dispatch incidents"
    )
    active_here = Alert.objects.filter(incident=incident, state__in=actions.ACTIVE_STATES).values("responder_id")
    listed = list(
        eligible_responders(today=timezone.localdate()).exclude(pk__in=active_here).select_related("station", "user")
    )
    committed = commitments_of([responder.pk for responder in listed])

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
        }
        for responder in sorted(listed, key=distance)
    ]
