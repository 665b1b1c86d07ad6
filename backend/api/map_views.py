"""What the maps need from the server (pwa/app/map.js, on the alert screen and the board): the tile
server and its attribution (settings MAP_TILE_URL, MAP_TILE_ATTRIBUTION: docs/maps.md) and the
active stations. Any logged-in user: the stations are not secret, but not published either."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import Station
from backend.schemas import api_responses


def map_settings() -> dict:
    """The tile URL template ("" for a plain background, no request to any other site), its
    attribution (plain text), and the active stations."""
    stations = (
        Station.objects.filter(active=True).order_by("name").values("id", "name", "code", "latitude", "longitude")
    )
    return {
        "tile_url": settings.MAP_TILE_URL,
        "attribution": settings.MAP_TILE_ATTRIBUTION if settings.MAP_TILE_URL else "",
        "stations": list(stations),
    }


class MapView(APIView):
    @extend_schema(responses=api_responses("map", errors=(401, 403)))
    def get(self, request):
        return Response(map_settings())
