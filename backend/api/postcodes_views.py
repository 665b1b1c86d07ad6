"""Postcode look-up for coordinators placing an incident (issue 15): backend/postcodes."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.api.permissions import requires
from backend.postcodes.lookup import find_postcode, postcode_payload
from backend.schemas import api_responses


class PostcodeView(APIView):
    """Any spacing or case ("nr21tf", "NR2 1TF"); 404 with code `unknown_postcode` when it is not in
    the imported table or is not a postcode at all."""

    permission_classes = [requires("accounts.view_board")]

    @extend_schema(responses=api_responses("postcode", errors=(401, 403, 404)))
    def get(self, request, postcode: str):
        return Response(postcode_payload(find_postcode(postcode)))
