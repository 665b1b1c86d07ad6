from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model

from backend.accounts import actions
from backend.accounts.models import Responder, Station
from backend.errors import ActionError

SIGN_OUT_DESCRIPTION = "Sign out everywhere (end their logins, close their connections, stop pushes to their phones)"


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
    actions = ["sign_out_everywhere"]

    @admin.action(permissions=["change"], description=SIGN_OUT_DESCRIPTION)
    def sign_out_everywhere(self, request, queryset):
        _sign_out(self, request, list(queryset.values_list("user_id", flat=True)))

    @admin.display(boolean=True, description="Training in date")
    def training_ok(self, responder):
        return responder.training_in_date()


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class UserAdmin(auth_admin.UserAdmin):
    actions = ["sign_out_everywhere"]

    @admin.action(permissions=["change"], description=SIGN_OUT_DESCRIPTION)
    def sign_out_everywhere(self, request, queryset):
        _sign_out(self, request, list(queryset.values_list("pk", flat=True)))


def _sign_out(modeladmin, request, user_ids: list[int]) -> None:
    """For a lost phone or someone leaving. Their push subscriptions go too, so a lost phone gets no
    more alerts; a phone still in their hands subscribes again when they log in to the app.
    Deactivating a user (unticking Active) also closes their sockets."""
    try:
        ended = actions.sign_out_everywhere(actor=request.user, user_ids=user_ids)
    except ActionError as error:
        modeladmin.message_user(request, error.message, level=messages.ERROR)
        return
    modeladmin.message_user(
        request,
        f"Signed out {len(user_ids)} user(s) everywhere: {ended} login(s) ended. Their phones get no push alerts "
        "until they log in to the app again.",
        level=messages.SUCCESS,
    )
