"""The one ASGI application: HTTP (Django) and WebSockets (Channels), served by daphne."""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

from django.core.asgi import get_asgi_application

# Set up Django (apps, settings) before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from backend.accounts.sockets import SocketAuthMiddlewareStack  # noqa: E402
from backend.limits import BodySizeLimit  # noqa: E402
from backend.sockets.routing import websocket_urlpatterns  # noqa: E402
from backend.sockets.security import SameOriginValidator  # noqa: E402

# A server holding a thousand sockets has hundreds of thousands of long-lived objects, and each
# full garbage collection over them paused alert delivery by 200 to 300 ms (measured with
# bench/dispatch_latency.py --probe). Freeze what start-up made and collect less often.
gc.collect()
gc.freeze()
gc.set_threshold(10_000, 10, 10)

application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(django_asgi_app),
        "websocket": SameOriginValidator(SocketAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
