from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backend.api.errors import json_404
from backend.health import healthz

admin.site.site_header = "Co-responder alerting: coordinators"
admin.site.site_title = "Co-responder alerting"
admin.site.index_title = "Incidents, dispatch and crews"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("backend.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

handler404 = json_404
