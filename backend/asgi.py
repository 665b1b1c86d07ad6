"""The one ASGI application: HTTP (Django) and WebSockets (Channels), served by daphne."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

from django.core.asgi import get_asgi_application

# Set up Django (apps, settings) before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from backend.accounts.sockets import SocketAuthMiddlewareStack  # noqa: E402
from backend.limits import BodySizeLimit  # noqa: E402
from backend.priority import DispatchFirst  # noqa: E402
from backend.sockets.routing import websocket_urlpatterns  # noqa: E402
from backend.sockets.security import SameOriginValidator  # noqa: E402
from backend.sqlite_wal import hold_the_log_open  # noqa: E402
from backend.worker.serving import tune_garbage_collector  # noqa: E402

# A server holding thousands of sockets holds millions of long-lived objects; the collector's walks
# over them paused alert delivery by hundreds of ms (bench/socket_capacity.py --probe). Freeze what
# start-up made, collect less often and, with GC_FREEZE_SURVIVORS, freeze what survives each full
# collection (see there).
tune_garbage_collector(freeze_survivors=settings.GC_FREEZE_SURVIVORS)
# SQLite only: no request's close checkpoints and deletes the log (see there; issue 17).
hold_the_log_open()

application = ProtocolTypeRouter(
    {
        # Requests that can wait (positions) wait while a dispatch is served (backend/priority.py).
        "http": DispatchFirst(BodySizeLimit(django_asgi_app)),
        "websocket": SameOriginValidator(SocketAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
