"""The admin app, with our admin site as `admin.site` (Django's documented way to replace it), so
that every ModelAdmin registered anywhere, and every view wrapped in `admin_view`, is behind the
second factor. Kept apart from admin_site.py: settings name this class before models load."""

from django.contrib.admin.apps import AdminConfig


class CoordinatorsAdminConfig(AdminConfig):
    default_site = "backend.accounts.admin_site.CoordinatorsAdminSite"
