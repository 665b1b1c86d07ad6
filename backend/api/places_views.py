"""The nearest defibrillators to an incident (issue 14; docs/defibrillators.md): for the
coordinators' board and the crews alerted to it, through dispatch's access look-up."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.dispatch import access
from backend.places.payloads import defibrillators_near
from backend.schemas import api_responses


class IncidentDefibrillatorsView(APIView):
    @extend_schema(responses=api_responses("defibrillator_list", errors=(401, 403, 404)))
    def get(self, request, incident_id: int):
        incident = access.access_incident_for_board_or_crew(request.user, incident_id)
        return Response(defibrillators_near(incident.latitude, incident.longitude))
