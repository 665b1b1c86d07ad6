"""The control room's board (issue 15): a full-screen page at /board/, outside the admin's chrome,
for a wall screen or a second monitor. Who may open it is who may open the admin's live board: a
coordinator with the board permission whose session has passed the second factor.

The page is a shell: what it shows comes over the coordinator socket (the same snapshot and frames
as the admin's board, docs/events.md) and what it does goes through the API (backend/api/urls.py),
whose endpoints call the same action functions as the admin. Its files: dispatch/wall.js,
wall.css, and the board's state rules shared with the admin's board (board-state.js).
"""

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.middleware.csrf import get_token
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache

from backend.dispatch.alarms import BOARD_PERMISSION
from backend.dispatch.models import IncidentCategory

BOARD_SOCKET_PATH = "/ws/coordinator/"
# The board's map (issue 14's module: incidents, stations, responders' positions and estimates, the
# nearest defibrillators), mounted in the board's map panel when the product has it.
MAP_MODULE = "dispatch/board-map.js"


def map_module_url() -> str:
    return static(MAP_MODULE) if finders.find(MAP_MODULE) else ""


@never_cache
def board_page(request):
    """Not signed in: the admin's login, back here after. Signed in without the board permission
    (a firefighter): 403. A coordinator who has not yet given their second factor: the admin's login,
    which sends them on to the code page."""
    user = request.user
    login_url = reverse("admin:login")
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path(), login_url)
    if not user.has_perm(BOARD_PERMISSION):
        raise PermissionDenied("You are not allowed to watch the board.")
    if not admin.site.has_permission(request):
        return redirect_to_login(request.get_full_path(), login_url)
    context = {
        "title": "Control room board",
        "board_socket_path": BOARD_SOCKET_PATH,
        "csrf_token_value": get_token(request),
        "user_name": user.get_full_name() or user.get_username(),
        "categories": IncidentCategory.choices,
        "can_create": user.has_perm("dispatch.add_incident"),
        "map_module_url": map_module_url(),
    }
    return TemplateResponse(request, "dispatch/wall.html", context)
