"""Positions and arrival estimates (issue 14, docs/positions.md): thin views over
backend/dispatch/positions.py and backend/accounts/positions.py."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backend import priority
from backend.accounts import positions as account_positions
from backend.api.fields import AmbulanceEtaField, AwareDateTimeField, StrictFloatField
from backend.api.known_fields import KnownFieldsOnly
from backend.api.views import _incident_detail, _valid
from backend.dispatch import actions, positions
from backend.schemas import api_responses, openapi_schema

ERROR = openapi_schema("api_error")


class FixInput(serializers.Serializer):
    """A phone's fix (the Geolocation API's coords and timestamp). The ranges are checked by the
    actions, which name the field at fault (accounts/positions.check_fix)."""

    latitude = StrictFloatField()
    longitude = StrictFloatField()
    accuracy_m = StrictFloatField(required=False, allow_null=True, help_text="Metres, as the phone says.")
    recorded_at = AwareDateTimeField(
        required=False,
        allow_null=True,
        help_text="When the phone took the fix, with its offset; not in the future, nor older than "
        "POSITION_MAX_AGE_SECONDS. Default: now.",
    )


class AlertPositionView(APIView):
    """`POST /api/v1/alerts/{id}/positions/`: the firefighter's own alert, while accepted, en route or
    on scene. 201 stored; 200 when not stored because it is no newer than the last one, or within
    POSITION_MIN_INTERVAL_SECONDS of it (a retry: accepted idempotently, the answer is the last
    one's estimate); 409 `not_responding` once sharing must stop; 404 for another's alert.
    `DELETE`: Stop (below)."""

    # Fifty a second from 500 responders going: each waits while a dispatch is served
    # (backend/priority.py), a few milliseconds that no map shows.
    urgency = {"POST": priority.CAN_WAIT}

    @extend_schema(
        request=FixInput,
        responses={
            **api_responses("position_answer", status=201, errors=(400, 401, 403, 404, 409)),
            200: openapi_schema("position_answer"),
        },
    )
    def post(self, request, alert_id: int):
        data = _valid(FixInput, request)
        position, stored = positions.record_alert_position(actor=request.user, alert_id=alert_id, **data)
        body = {"sharing": True, "stored": stored, "estimate": positions.estimate_payload(position)}
        return Response(body, status=201 if stored else 200)

    @extend_schema(responses={204: None, **{code: ERROR for code in (401, 403, 404)}})
    def delete(self, request, alert_id: int):
        """`DELETE`: the firefighter tapped Stop. The boards and the crew drop their position and
        estimate (`position.cleared`) until the next POST ("Share again"). 204, also when nothing
        was shared (stopping twice, an alert no longer going); audited when it stops."""
        positions.stop_sharing(actor=request.user, alert_id=alert_id, request=request)
        return Response(status=204)


class IncidentPositionsView(APIView):
    """`GET /api/v1/incidents/{id}/positions/`: the latest position and estimate of each responder
    still going, for coordinators and the incident's committed crew (404 for anyone else). Every
    read is audited."""

    @extend_schema(responses=api_responses("incident_positions", errors=(401, 403, 404)))
    def get(self, request, incident_id: int):
        return Response({"positions": positions.read_incident_positions(actor=request.user, incident_id=incident_id)})


class AmbulanceEtaView(APIView):
    """`POST /api/v1/incidents/{id}/ambulance-eta/` `{"ambulance_eta": ISO or null}`: from the CAD."""

    class AmbulanceEtaInput(KnownFieldsOnly, serializers.Serializer):
        ambulance_eta = AmbulanceEtaField(
            allow_null=True, help_text="The ambulance's estimated arrival; null: unknown."
        )

    @extend_schema(request=AmbulanceEtaInput, responses=api_responses("incident_detail"))
    def post(self, request, incident_id: int):
        data = _valid(self.AmbulanceEtaInput, request)
        incident = actions.set_ambulance_eta(
            actor=request.user, incident_id=incident_id, ambulance_eta=data["ambulance_eta"]
        )
        return Response(_incident_detail(incident))


class MyPositionView(APIView):
    """`PUT /api/v1/me/position/`: the on-call fix of a firefighter who opted in
    (`share_position_on_call`), used by dispatch while fresh. 409 `not_sharing` when not opted in
    or off call. 204: nothing to read back."""

    urgency = {"PUT": priority.CAN_WAIT}  # as a position while responding (backend/priority.py)

    @extend_schema(request=FixInput, responses={204: None, **{code: ERROR for code in (400, 401, 403, 409)}})
    def put(self, request):
        data = _valid(FixInput, request)
        account_positions.record_on_call_position(actor=request.user, **data)
        return Response(status=204)
