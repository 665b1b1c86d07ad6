"""Stations and responders in the admin. "Sign out everywhere", the action on responders and
users, is added by backend/dispatch/admin.py: it tells the coordinators' boards that they logged out
(backend/dispatch/presence.py), and dispatch sits above this app."""

from django.contrib import admin

from backend.accounts.models import Responder, Station


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "latitude", "longitude", "active", "on_call_count"]
    list_filter = ["active"]
    search_fields = ["name", "code"]

    @admin.display(description="On call now")
    def on_call_count(self, station):
        return station.responders.filter(on_call=True).count()


@admin.register(Responder)
class ResponderAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "station",
        "on_call",
        "life_support_training_expires",
        "defibrillator_training_expires",
        "training_ok",
    ]
    list_filter = ["station", "on_call"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user"]
    list_select_related = ["user", "station"]

    @admin.display(boolean=True, description="Training in date")
    def training_ok(self, responder):
        return responder.training_in_date()
