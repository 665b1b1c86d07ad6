"""What the admin's read-only pages share. Records (alerts, events, deliveries, on-scene logs)
change only through actions, so their admin pages show them and nothing more."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
