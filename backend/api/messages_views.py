"""Messages to the crews (issue 15): coordinators send and read, firefighters read and say
"Got it". Thin views over backend/dispatch/messages.py."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.permissions import requires
from backend.dispatch import messages, payloads
from backend.dispatch.models import MESSAGE_MAX_LENGTH
from backend.schemas import api_responses


class IncidentMessagesView(APIView):
    """GET: coordinators with the board, and the incident's alerted firefighters (who see only
    their own acknowledgement). POST: coordinators with the board."""

    class SendInput(serializers.Serializer):
        # Trimmed here and in the action; the action's own check names `text` too.
        text = serializers.CharField(max_length=MESSAGE_MAX_LENGTH, trim_whitespace=True)

    def get_permissions(self):
        if self.request.method == "POST":
            return [requires(messages.BOARD_PERMISSION)()]
        return super().get_permissions()

    @extend_schema(
        operation_id="incident_messages_list", responses=api_responses("crew_message_list", errors=(401, 403, 404))
    )
    def get(self, request, incident_id: int):
        return Response({"messages": messages.messages_of(request.user, incident_id)})

    @extend_schema(request=SendInput, responses=api_responses("crew_message", status=201))
    def post(self, request, incident_id: int):
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
        data = self.SendInput(data=request.data)
        data.is_valid(raise_exception=True)
        message = messages.send_crew_message(
            actor=request.user, incident_id=incident_id, text=data.validated_data["text"]
        )
        return Response(payloads.crew_message(message, []), status=201)


class AcknowledgeMessageView(APIView):
    """A firefighter alerted to the message's incident: "Got it". 200 every time (idempotent)."""

    @extend_schema(request=None, responses=api_responses("message_acknowledgement", errors=(401, 403, 404)))
    def post(self, request, message_id: int):
        ack = messages.acknowledge_crew_message(actor=request.user, message_id=message_id)
        return Response(payloads.message_acknowledgement(ack))
