from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from backend.api.errors import json_404
from backend.delivery import admin_readiness
from backend.dispatch.board_page import board_page
from backend.health import healthz
from backend.records import admin_reports

admin.site.site_header = "Co-responder alerting: coordinators"
admin.site.site_title = "Co-responder alerting"
admin.site.index_title = "Incidents, dispatch and crews"
# The admin's home page, with a link to the reports (backend/records/templates/admin/records/index.html).
admin.site.index_template = "admin/records/index.html"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask every page's site for /favicon.ico (the admin's pages name no icon): the app's.
    path("favicon.ico", RedirectView.as_view(url="/icons/icon.svg", permanent=True)),
    # The coordinators' reports: before admin.site.urls, whose catch-all would answer 404.
    path("admin/reports/", admin.site.admin_view(admin_reports.reports_view), name="admin-reports"),
    path("admin/reports/export.csv", admin.site.admin_view(admin_reports.export_view), name="admin-reports-export"),
    # Which phones are proven to ring, per responder and per station (backend/delivery/admin_readiness.py).
    path("admin/readiness/", admin.site.admin_view(admin_readiness.readiness_view), name="admin-readiness"),
    path(
        "admin/reports/registry/<slug:kind>.csv",
        admin.site.admin_view(admin_reports.registry_export_view),
        name="admin-reports-registry",
    ),
    path(
        "admin/reports/incidents/", admin.site.admin_view(admin_reports.incidents_view), name="admin-reports-incidents"
    ),
    path("admin/", admin.site.urls),
    # The control room's full-screen board (issue 15; backend/dispatch/board_page.py).
    path("board/", board_page, name="board"),
    path("api/v1/", include("backend.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI, its start-up script served apart (/api/docs/?script) rather than inline, so that
    # the page's Content-Security-Policy needs no inline script (backend/headers.py).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

handler404 = json_404
