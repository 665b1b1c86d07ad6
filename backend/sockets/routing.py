from django.urls import path

from backend.sockets import consumers

websocket_urlpatterns = [
    path("ws/responder/", consumers.ResponderConsumer.as_asgi()),
    path("ws/coordinator/", consumers.CoordinatorConsumer.as_asgi()),
]
