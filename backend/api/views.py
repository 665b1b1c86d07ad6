"""REST API v1. Views parse input with a nested serializer, call one action or access function, and
return the shared payload shapes (backend/dispatch/payloads.py, schemas in
backend/schemas/). Nothing here changes state itself."""

import copy

from django.conf import settings
from django.middleware.csrf import get_token
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from backend import priority
from backend.accounts import actions as account_actions
from backend.accounts import positions as account_positions
from backend.accounts.models import Station
from backend.api.fields import (
    AmbulanceEtaField,
    AwareDateTimeField,
    StrictBooleanField,
    StrictFloatField,
    StrictIntegerField,
    StrictUUIDField,
)
from backend.api.known_fields import KnownFieldsOnly
from backend.api.pagination import paginate
from backend.api.permissions import requires
from backend.checklists import actions as checklist_actions
from backend.checklists import content as checklist_content
from backend.checklists import payloads as checklist_payloads
from backend.checklists import signoff as checklist_signoff
from backend.delivery import readiness
from backend.delivery import subscriptions as push_subscriptions
from backend.delivery.models import Permission, Platform
from backend.dispatch import access, actions, alarms, named, payloads, presence
from backend.dispatch.models import (
    MAX_CREW_TARGET,
    AlarmKind,
    DeclineReason,
    Incident,
    IncidentCategory,
    IncidentStatus,
)
from backend.errors import NotAllowed
from backend.schemas import api_responses, openapi_schema


class ServiceUnavailable(APIException):
    status_code = 503
    default_code = "unavailable"


# --- Incidents: coordinators and the ambulance dispatch system -------------------------------------


def _incident_detail(incident: Incident, *, dispatched: list | None = None) -> dict:
    """The incident with every alert; after a dispatch (`dispatched`: the alerts it made), what the
    dispatch did, so that a caller whose dispatch reached nobody is told so, and why."""
    alerts = incident.alerts.select_related("responder__user", "responder__station").order_by("rank")
    detail = {**payloads.board_incident(incident), "alerts": [payloads.board_alert(alert) for alert in alerts]}
    if dispatched is not None:
        detail["dispatch"] = payloads.dispatch_outcome(incident, dispatched)
    return detail


class _FieldsCopiedShallowly:
    """An input serializer whose declared fields are copied shallowly for each instance. DRF
    deep-copies them (Field.__deepcopy__ runs each field's __init__ again on deep copies of its
    arguments: choices, messages, validators), about 0.1 ms of the CAD's call for ten fields. A
    field's own attributes are what binding sets (name, parent, source); what the copies share
    (validators, error messages, choices) is only read while validating. For flat serializers of
    plain fields only (no nested serializer, whose fields a shallow copy would share)."""

    def get_fields(self):
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}


class IncidentListView(APIView):
    # The CAD's create-and-dispatch: positions wait while it is served (backend/priority.py).
    urgency = {"POST": priority.URGENT}

    class CreateIncidentInput(KnownFieldsOnly, _FieldsCopiedShallowly, serializers.Serializer):
        """A new incident: where, what, and whether to dispatch it at once."""

        cad_reference = serializers.RegexField(
            r"^[A-Za-z0-9][A-Za-z0-9/_.-]*$",
            max_length=40,
            error_messages={"invalid": "Use letters, digits and / _ . - only."},
        )
        latitude = StrictFloatField(min_value=-90, max_value=90)
        longitude = StrictFloatField(min_value=-180, max_value=180)
        address = serializers.CharField(max_length=300)
        category = serializers.ChoiceField(choices=IncidentCategory.choices, default=IncidentCategory.CARDIAC_ARREST)
        what3words = serializers.RegexField(
            r"^(///)?[a-z]+\.[a-z]+\.[a-z]+$",
            max_length=100,
            required=False,
            allow_blank=True,
            error_messages={"invalid": "A what3words address is three words joined by dots, e.g. filled.count.soap."},
        )
        notes = serializers.CharField(max_length=1000, required=False, allow_blank=True)
        dispatch = StrictBooleanField(
            default=False, help_text="Dispatch the nearest responders at once (one call from the CAD)."
        )
        crew_target = StrictIntegerField(
            min_value=1,
            max_value=MAX_CREW_TARGET,
            required=False,
            help_text="Responders the incident needs (default DISPATCH_CREW_TARGET): once this many are going, "
            "the others are stood down.",
        )
        ambulance_eta = AmbulanceEtaField(
            required=False,
            allow_null=True,
            help_text="The ambulance's estimated arrival, if known (later: POST /incidents/{id}/ambulance-eta/).",
        )

    class IncidentFilters(serializers.Serializer):
        status = serializers.ChoiceField(choices=IncidentStatus.choices, required=False)

    @extend_schema(
        operation_id="incidents_list", parameters=[IncidentFilters], responses=api_responses("incident_list")
    )
    def get(self, request):
        access.require_permission(request.user, "dispatch.view_incident", "see incidents")
        filters = self.IncidentFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        incidents = Incident.objects.order_by("-created_at")
        if "status" in filters.validated_data:
            incidents = incidents.filter(status=filters.validated_data["status"])
        return paginate(request, self, incidents, payloads.board_incident)

    @extend_schema(request=CreateIncidentInput, responses=api_responses("incident_detail", status=201))
    def post(self, request):
        access.require_permission(request.user, "dispatch.add_incident", "create incidents")
        data = _valid(self.CreateIncidentInput, request)
        if not data.pop("dispatch"):
            incident = actions.create_incident(actor=request.user, **data)
            return Response(_incident_detail(incident), status=201)
        incident, alerts = actions.create_and_dispatch_incident(actor=request.user, **data)
        # The alerts just made are all the new incident has, loaded: described without re-reading.
        detail = payloads.incident_with_alerts(incident, sorted(alerts, key=lambda alert: alert.rank))
        detail["dispatch"] = payloads.dispatch_outcome(incident, alerts)
        return Response(detail, status=201)


class IncidentDetailView(APIView):
    @extend_schema(responses=api_responses("incident_detail"))
    def get(self, request, incident_id: int):
        incident = access.access_incident_for_coordinator(
            request.user, incident_id, permission="dispatch.view_incident", doing="see incidents"
        )
        return Response(_incident_detail(incident))


def _id_field() -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=2**63 - 1)


class DispatchView(APIView):
    permission_classes = [requires("dispatch.dispatch_incident")]
    urgency = {"POST": priority.URGENT}  # backend/priority.py

    class DispatchInput(KnownFieldsOnly, serializers.Serializer):
        # Ids within the database's integer range: a bigger one made the lookup fail with a 500.
        station_ids = serializers.ListField(child=_id_field(), required=False, allow_empty=False)
        responder_ids = serializers.ListField(child=_id_field(), required=False, allow_empty=False)
        seen_alerts = StrictIntegerField(
            min_value=0,
            max_value=10_000,
            required=False,
            help_text="How many alerts your screen showed for the incident: if more exist now, the "
            "dispatch is refused (409) rather than widened twice by two coordinators at once.",
        )

        def validate_station_ids(self, value):
            return _known_ids(Station.objects.all(), value, "station")

        def validate_responder_ids(self, value):
            from backend.accounts.models import Responder

            return _known_ids(Responder.objects.all(), value, "responder")

    @extend_schema(request=DispatchInput, responses=api_responses("incident_detail"))
    def post(self, request, incident_id: int):
        data = _valid(self.DispatchInput, request)
        alerts = actions.dispatch_incident(actor=request.user, incident_id=incident_id, **data)
        # Named, or resuming a held ladder: some are earlier alerts, alerted again (realerted_at),
        # ranked among those not alerted again, so every alert is read (found by a test: a plain
        # dispatch on a held ladder left out the declined alert ranked between two alerted again).
        if "responder_ids" in data or not alerts or any(alert.realerted_at for alert in alerts):
            return _detail_after_action(request, incident_id, dispatched=alerts)
        return _detail_after_new_alerts(request, incident_id, alerts)


class StandDownView(APIView):
    permission_classes = [requires("dispatch.stand_down_incident")]

    class StandDownInput(KnownFieldsOnly, serializers.Serializer):
        alert_ids = serializers.ListField(
            child=_id_field(),
            required=False,
            allow_empty=False,
            help_text="Stand down these alerts. Leave out to stand down everyone who has not answered.",
        )

    @extend_schema(request=StandDownInput, responses=api_responses("incident_detail"))
    def post(self, request, incident_id: int):
        data = _valid(self.StandDownInput, request)
        actions.stand_down(actor=request.user, incident_id=incident_id, alert_ids=data.get("alert_ids"))
        return _detail_after_action(request, incident_id)


class CancelView(APIView):
    permission_classes = [requires("dispatch.cancel_incident")]

    class CancelInput(KnownFieldsOnly, serializers.Serializer):
        reason = serializers.CharField(max_length=200)

    @extend_schema(request=CancelInput, responses=api_responses("incident_detail"))
    def post(self, request, incident_id: int):
        data = _valid(self.CancelInput, request)
        actions.cancel_incident(actor=request.user, incident_id=incident_id, reason=data["reason"])
        return _detail_after_action(request, incident_id)


class CloseView(APIView):
    permission_classes = [requires("dispatch.stand_down_incident")]

    @extend_schema(request=None, responses=api_responses("incident_detail"))
    def post(self, request, incident_id: int):
        actions.close_incident(actor=request.user, incident_id=incident_id)
        return _detail_after_action(request, incident_id)


def _detail_after_action(request, incident_id: int, *, dispatched: list | None = None) -> Response:
    incident = access.access_incident_for_coordinator(
        request.user, incident_id, permission="dispatch.view_incident", doing="see incidents"
    )
    return Response(_incident_detail(incident, dispatched=dispatched))


def _detail_after_new_alerts(request, incident_id: int, dispatched: list) -> Response:
    """_detail_after_action after a dispatch whose alerts are all new, none alerted again (loaded
    with their responders, stations and users): they are the incident's newest ranks, described
    from memory, and only the alerts made before them are read. A dispatch of 200 read all 200 back with three
    joins and built 800 objects again, on the interpreter that then sends their pushes (issue 17
    item 3)."""
    incident = access.access_incident_for_coordinator(
        request.user, incident_id, permission="dispatch.view_incident", doing="see incidents"
    )
    first_new = min(alert.rank for alert in dispatched)
    earlier = incident.alerts.select_related("responder__user", "responder__station").filter(rank__lt=first_new)
    alerts = [*earlier.order_by("rank"), *sorted(dispatched, key=lambda alert: alert.rank)]
    detail = payloads.incident_with_alerts(incident, alerts)
    detail["dispatch"] = payloads.dispatch_outcome(incident, dispatched)
    return Response(detail)


# --- My alerts: firefighters --------------------------------------------------------------------------


class MyAlertListView(APIView):
    class MyAlertFilters(serializers.Serializer):
        active = serializers.BooleanField(required=False, help_text="Only alerts of open incidents.")

    @extend_schema(operation_id="my_alerts_list", parameters=[MyAlertFilters], responses=api_responses("alert_list"))
    def get(self, request):
        filters = self.MyAlertFilters(data=request.query_params)
        filters.is_valid(raise_exception=True)
        alerts = access.alerts_for_responder(request.user).order_by("-alerted_at", "-pk")
        if filters.validated_data.get("active"):
            alerts = alerts.filter(incident__status=IncidentStatus.OPEN)
        return paginate(request, self, alerts, payloads.alert_detail)


class MyAlertDetailView(APIView):
    @extend_schema(responses=api_responses("alert_with_crew"))
    def get(self, request, alert_id: int):
        alert = access.access_alert_for_responder(request.user, alert_id)
        return Response({**payloads.alert_detail(alert), "crew": payloads.crew_of(alert.incident)})


class RespondView(APIView):
    class RespondInput(serializers.Serializer):
        response = serializers.ChoiceField(choices=list(actions.RESPONSES))
        reason = serializers.ChoiceField(
            choices=DeclineReason.choices, required=False, allow_blank=True, help_text="Required to decline."
        )
        note = serializers.CharField(max_length=200, required=False, allow_blank=True)

    @extend_schema(request=RespondInput, responses=api_responses("alert_with_crew"))
    def post(self, request, alert_id: int):
        data = _valid(self.RespondInput, request)
        alert = actions.respond_to_alert(
            actor=request.user,
            alert_id=alert_id,
            response=data["response"],
            reason=data.get("reason", ""),
            note=data.get("note", ""),
        )
        # Answered from a phone still logged in: not "logged out" on the boards (a stale logout).
        presence.seen_in_app(alert.responder)
        return Response({**payloads.alert_detail(alert), "crew": payloads.crew_of(alert.incident)})


# --- On scene: the checklist and what the crew taps on it --------------------------------------------


class ChecklistView(APIView):
    @extend_schema(responses=api_responses("checklist", errors=(401, 403, 503)))
    def get(self, request):
        """The checklist version phones are to use, with its clinical sign-off: in production the
        newest approved version only (503 if there is none); in development the newest draft too."""
        access.require_firefighter_or_coordinator(request.user, "see the on-scene checklist")
        return Response(checklist_signoff.served_checklist())


class OnSceneEventListView(APIView):
    class RecordEventInput(serializers.Serializer):
        idempotency_key = StrictUUIDField(
            help_text="Made by the app for each tap (crypto.randomUUID()); resend the same key to retry."
        )
        type = serializers.ChoiceField(choices=checklist_content.event_ids(), help_text="The checklist's event id.")
        occurred_at = AwareDateTimeField(help_text="When it happened, by the phone's clock, with its offset.")
        data = serializers.DictField(
            required=False, default=dict, help_text="Only the fields the checklist lists for this event type."
        )

    @extend_schema(responses=api_responses("onscene_event_list", errors=(401, 403, 404)))
    def get(self, request, alert_id: int):
        events = checklist_actions.onscene_events_of(actor=request.user, alert_id=alert_id)
        return Response({"results": [checklist_payloads.onscene_event(event) for event in events]})

    @extend_schema(
        request=RecordEventInput,
        responses={**api_responses("onscene_event", status=201), 200: openapi_schema("onscene_event")},
        description="201: recorded. 200: already recorded under this key (a retry): the stored event, nothing "
        "created. 409: the key was used for a different event, or the alert was declined or stood down "
        "before arriving.",
    )
    def post(self, request, alert_id: int):
        data = _valid(self.RecordEventInput, request)
        event, created = checklist_actions.record_onscene_event(actor=request.user, alert_id=alert_id, **data)
        return Response(checklist_payloads.onscene_event(event), status=201 if created else 200)


# --- Logging in: the firefighters' app -----------------------------------------------------------------


def _require_csrf(request) -> None:
    """DRF checks CSRF only for requests it authenticated by session; logging in (anonymous by
    definition) and out must be checked too, so that no other site can log a phone in to an
    account of its choosing, or out."""
    SessionAuthentication().enforce_csrf(request._request)


class CsrfTokenView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(responses=api_responses("csrf_token", errors=()))
    def get(self, request):
        return Response({"csrf_token": get_token(request._request)})


class LoginView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    class LoginInput(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})

    @extend_schema(request=LoginInput, responses=api_responses("me", errors=(400, 403, 429)))
    def post(self, request):
        """429 `locked_out` after too many failures for this username from this address; the
        message says when to try again (backend/accounts/throttling.py)."""
        _require_csrf(request)
        data = _valid(self.LoginInput, request)
        user = presence.log_in(request=request._request, username=data["username"], password=data["password"])
        return Response(account_actions.profile_of(user))


class SessionView(APIView):
    """Who is signed in on this browser, if anyone: the app asks at start. Nobody signed in is an
    answer, not an error (a 401 here would be logged in the console of every login page)."""

    permission_classes = [AllowAny]

    @extend_schema(responses=api_responses("session", errors=(401,)))
    def get(self, request):
        """401 only for credentials that are wrong: a token that is not valid, or a staff
        session that has not passed the second factor."""
        if not request.user.is_authenticated:
            return Response({"authenticated": False})
        return Response({"authenticated": True, "me": account_actions.profile_of(request.user)})


class LogoutView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    class LogoutInput(serializers.Serializer):
        endpoint = serializers.URLField(
            max_length=500,
            required=False,
            help_text="This device's push subscription endpoint (PushSubscription.endpoint): it is removed "
            "with the session, if it is the logged-in user's. Without it, subscriptions are left as they are.",
        )

    @extend_schema(
        request=LogoutInput, responses={204: None, 400: openapi_schema("api_error"), 403: openapi_schema("api_error")}
    )
    def post(self, request):
        """The body is optional. With `endpoint`, this device's push subscription goes with the
        session (docs/delivery.md, "Whose phone it is"); 204 whether or not there was one. Audited;
        a firefighter is shown logged out on the coordinators' boards (backend/dispatch/presence.py)."""
        _require_csrf(request)
        # A body that is not JSON (an old client's empty form post) says nothing: log out all the same.
        sent_json = request.content_type.partition(";")[0].strip().lower() == "application/json"
        data = _valid(self.LogoutInput, request) if sent_json else {}
        presence.log_out(request=request._request, push_endpoint=data.get("endpoint"))
        return Response(status=204)


# --- Me ----------------------------------------------------------------------------------------------


class MeView(APIView):
    class AvailabilityInput(serializers.Serializer):
        on_call = StrictBooleanField(required=False)
        share_position_on_call = StrictBooleanField(
            required=False, help_text="Share the phone's position while on call (off by default; docs/positions.md)."
        )

        def validate(self, data):
            if not data:
                raise serializers.ValidationError({"on_call": ["Give on_call, share_position_on_call or both."]})
            return data

    @extend_schema(responses=api_responses("me"))
    def get(self, request):
        return Response(account_actions.profile_of(request.user))

    @extend_schema(request=AvailabilityInput, responses=api_responses("me"))
    def patch(self, request):
        """Going on call, the answer also says how ready the firefighter's phones are (`readiness`,
        with a `warning` when none has shown an alert or a test lately: docs/delivery.md)."""
        data = _valid(self.AvailabilityInput, request)
        if "share_position_on_call" in data:
            account_positions.set_share_position_on_call(actor=request.user, share=data["share_position_on_call"])
        if "on_call" in data:
            presence.set_availability(actor=request.user, on_call=data["on_call"])
        profile = account_actions.profile_of(request.user)
        if data.get("on_call") and profile["responder"] is not None:
            profile["readiness"] = readiness.readiness_of(request.user)
        return Response(profile)


# --- Helpers -----------------------------------------------------------------------------------------


def _valid(serializer_class, request) -> dict:
    if not isinstance(request.data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _known_ids(queryset, ids: list[int], what: str) -> list[int]:
    found = set(queryset.filter(pk__in=ids).values_list("pk", flat=True))
    unknown = [str(item) for item in ids if item not in found]
    if unknown:
        raise serializers.ValidationError(f"Unknown {what} id(s): {', '.join(unknown)}.")
    return list(dict.fromkeys(ids))


# --- Web Push subscriptions: firefighters' devices ---------------------------------------------------


def _iso(value):
    return value.isoformat() if value else None


def _device(device) -> dict:
    return {
        "id": device.pk,
        "label": device.label,
        "endpoint": device.subscription.endpoint,
        "created_at": device.created_at.isoformat(),
        "last_success_at": _iso(device.last_success_at),
        # Readiness (docs/delivery.md): what the app last said of itself, and the proof it rings.
        "platform": device.platform,
        "installed": device.installed,
        "permission": device.permission,
        "state_reported_at": _iso(device.state_reported_at),
        "last_proven_at": _iso(device.last_proven_at),
        "proven": readiness.is_proven(device, now=timezone.now()),
        "last_failure_at": _iso(device.last_failure_at),
        "last_failure_reason": device.last_failure_reason,
        "failed_checks_in_a_row": device.failed_checks_in_a_row,
        "flagged": device.flagged,
    }


class PushSubscriptionView(APIView):
    """The browser's PushSubscription, as `subscription.toJSON()` gives it, plus a device label."""

    class SubscriptionKeys(serializers.Serializer):
        p256dh = serializers.CharField(max_length=200)
        auth = serializers.CharField(max_length=100)

    class SubscribeInput(serializers.Serializer):
        endpoint = serializers.URLField(max_length=500)
        keys = serializers.DictField(child=serializers.CharField(max_length=200))
        expirationTime = StrictIntegerField(required=False, allow_null=True)
        label = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

        def validate_keys(self, keys):
            missing = [name for name in ("p256dh", "auth") if not keys.get(name)]
            if missing:
                raise serializers.ValidationError(f"Missing key(s): {', '.join(missing)}.")
            return keys

    class UnsubscribeInput(serializers.Serializer):
        endpoint = serializers.URLField(max_length=500)

    @extend_schema(responses=api_responses("push_device_list", errors=(401, 403)))
    def get(self, request):
        access.responder_of(request.user)
        return Response({"results": [_device(device) for device in push_subscriptions.devices_of(request.user)]})

    @extend_schema(request=SubscribeInput, responses=api_responses("push_device"))
    def post(self, request):
        """201 for a new subscription, 200 for one already this user's (keys and label refreshed).
        An endpoint stored for another user moves to this one only with the same `keys` (proof
        that this browser holds it; audited): otherwise 409 `subscription_of_another_user`, naming
        `keys` (docs/delivery.md, "Whose phone it is")."""
        data = _valid(self.SubscribeInput, request)
        device, created = push_subscriptions.subscribe_device(
            actor=request.user,
            endpoint=data["endpoint"],
            p256dh=data["keys"]["p256dh"],
            auth=data["keys"]["auth"],
            label=data["label"] or "This device",
            user_agent=request.headers.get("User-Agent", ""),
        )
        return Response(_device(device), status=201 if created else 200)

    @extend_schema(
        request=UnsubscribeInput, responses={204: None, **api_responses("push_device", errors=(400, 401, 403, 404))}
    )
    def delete(self, request):
        data = _valid(self.UnsubscribeInput, request)
        push_subscriptions.unsubscribe_device(actor=request.user, endpoint=data["endpoint"])
        return Response(status=204)


class VapidPublicKeyView(APIView):
    @extend_schema(responses=api_responses("vapid_public_key", errors=(401, 503)))
    def get(self, request):
        if not settings.VAPID_PUBLIC_KEY:
            raise ServiceUnavailable("Web Push is not configured on this server.")
        return Response({"public_key": settings.VAPID_PUBLIC_KEY})


# --- Receipts from the phones' service workers: no session ---------------------------------------------


def _errors(*codes: int) -> dict:
    return {code: openapi_schema("api_error") for code in codes}


class PushReceiptThrottle(SimpleRateThrottle):
    """PUSH_RECEIPT_RATE_PER_MINUTE per client address (read at each request, so tests can change
    it). The address is REMOTE_ADDR only: behind the proxy, daphne's --proxy-headers has already
    made it the client's, and an X-Forwarded-For sent by the client must not buy a fresh allowance."""

    scope = "push_receipts"

    def get_rate(self) -> str:
        return f"{settings.PUSH_RECEIPT_RATE_PER_MINUTE}/min"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.META.get("REMOTE_ADDR") or "unknown"}


class CrossOrigin(NotAllowed):
    code = "cross_origin"


def _require_our_origin(request) -> None:
    """A browser's request from another site is refused: the Origin, when sent (browsers always
    send it on a POST), must be this site's own or one of ALLOWED_ORIGINS. A client that sends
    none is no browser page, and has only the token to offer."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    own = f"{request.scheme}://{request.get_host()}"
    if origin != own and origin not in settings.ALLOWED_ORIGINS:
        raise CrossOrigin("Receipts are accepted only from this site's own service worker.")


class PushReceiptView(APIView):
    """The phone's service worker showed an alert's notification (`shown`), or its firefighter
    tapped it (`opened`): `{"alert_id", "token", "event"}`, the token from that push
    (backend/delivery/receipts.py). 204 once; 409 `receipt_already_recorded` for a replay; 403
    `invalid_receipt_token` for a token that is not one of this alert's; 429 past the rate.

    No session, so no CSRF token: the service worker runs with the app closed and the firefighter
    perhaps logged out, and a CSRF token protects a session that a cross-site request would ride on.
    There is none here (no authentication class reads the cookie, so DRF's CSRF check, which
    is tied to session authentication, does not apply: this is the one state-changing endpoint so
    exempt, tests/security/test_csrf.py). What proves the request is the single-use token, which
    only the phone that decrypted the push knows; and a request another site's page makes is
    refused by its Origin all the same."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [PushReceiptThrottle]

    class ReceiptInput(serializers.Serializer):
        alert_id = StrictIntegerField(min_value=1, max_value=2**63 - 1, required=False)
        check_id = StrictIntegerField(
            min_value=1, max_value=2**63 - 1, required=False, help_text="A test of the device, instead of an alert."
        )
        token = serializers.RegexField(
            r"^[A-Za-z0-9_-]{43}$",
            error_messages={"invalid": "The receipt token is the one the push carried: 43 URL-safe base64 characters."},
        )
        event = serializers.ChoiceField(choices=["shown", "opened"], default="shown")

        def validate(self, data):
            given = [name for name in ("alert_id", "check_id") if name in data]
            if len(given) != 1:
                message = "Give alert_id (an alert's push) or check_id (a test's push), not both."
                raise serializers.ValidationError({"alert_id": [message], "check_id": [message]})
            return data

    @extend_schema(request=ReceiptInput, responses={204: None, **_errors(400, 403, 409, 429)})
    def post(self, request):
        _require_our_origin(request)
        data = _valid(self.ReceiptInput, request)
        if "check_id" in data:
            readiness.record_test_receipt(check_id=data["check_id"], token=data["token"], event=data["event"])
        else:
            actions.record_push_receipt(alert_id=data["alert_id"], token=data["token"], event=data["event"])
        return Response(status=204)


# --- Readiness: "Test my alerts" and what the app says of itself (docs/delivery.md) -------------------


class ReadinessThrottle(SimpleRateThrottle):
    """READINESS_REQUESTS_PER_MINUTE per firefighter: a test is a real push to a real phone."""

    scope = "readiness"

    def get_rate(self) -> str:
        return f"{settings.READINESS_REQUESTS_PER_MINUTE}/min"

    def get_cache_key(self, request, view) -> str | None:
        if request.method == "GET" or not request.user.is_authenticated:
            return None  # polling a result is free; an anonymous request gets its 401
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class DeviceStateInput(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Platform.choices)
    installed = StrictBooleanField(help_text="Running as an installed app (display-mode standalone).")
    permission = serializers.ChoiceField(choices=Permission.choices, help_text="Notification.permission.")


class PushDeviceStateView(APIView):
    """The app's word on this phone, at start and with each test: `{"endpoint", "platform",
    "installed", "permission"}`. The endpoint names the device (its push subscription, which only
    this browser knows); only the caller's own."""

    throttle_classes = [ReadinessThrottle]

    class StateInput(DeviceStateInput):
        endpoint = serializers.URLField(max_length=500)

    @extend_schema(request=StateInput, responses=api_responses("push_device", errors=(400, 401, 403, 404, 429)))
    def put(self, request):
        data = _valid(self.StateInput, request)
        device = readiness.report_state(actor=request.user, **data)
        return Response(_device(device))


def _check(check) -> dict:
    return {
        "id": check.pk,
        "device_id": check.device_id,
        "reason": check.reason,
        "result": check.result,
        "created_at": check.created_at.isoformat(),
        "sent_at": _iso(check.sent_at),
        "shown_at": _iso(check.shown_at),
        "finished_at": _iso(check.finished_at),
        "duration_ms": check.duration_ms,
        "failure_code": check.failure_code,
        "failure_reason": check.failure_reason,
        "receipt_wait_seconds": settings.READINESS_RECEIPT_WAIT_SECONDS,
    }


class PushTestListView(APIView):
    """The app's "Test my alerts": a test push to the caller's own device (named by its endpoint),
    with the app's state. 201 with the new test; 200 with the one still waiting for its receipt."""

    throttle_classes = [ReadinessThrottle]

    class TestInput(serializers.Serializer):
        endpoint = serializers.URLField(max_length=500)
        state = DeviceStateInput(required=False, help_text="The app's state now, recorded with the test.")

    @extend_schema(
        request=TestInput, responses=api_responses("device_check", status=201, errors=(400, 401, 403, 404, 429))
    )
    def post(self, request):
        data = _valid(self.TestInput, request)
        check, created = readiness.request_test(actor=request.user, endpoint=data["endpoint"], state=data.get("state"))
        return Response(_check(check), status=201 if created else 200)


class PushTestDetailView(APIView):
    """One test of the caller's own phones, as it stands (the app polls it until it is over)."""

    @extend_schema(responses=api_responses("device_check", errors=(401, 403, 404)))
    def get(self, request, check_id: int):
        return Response(_check(readiness.access_own_check(request.user, check_id)))


# --- The board's alarms (issue 15: backend/dispatch/alarms.py) -------------------------------------


class AlarmAcknowledgeView(APIView):
    """A coordinator with the board permission acknowledges an alarm: `{"kind", "incident_id"?}`
    (no incident for `worker_silent`). Audited; every board is told (`alarm.acknowledged`)."""

    class AcknowledgeInput(serializers.Serializer):
        kind = serializers.ChoiceField(choices=AlarmKind.choices)
        incident_id = StrictIntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True)

    @extend_schema(request=AcknowledgeInput, responses=api_responses("alarm_acknowledgement", status=201))
    def post(self, request):
        data = _valid(self.AcknowledgeInput, request)
        acknowledgement = alarms.acknowledge_alarm(
            actor=request.user, kind=data["kind"], incident_id=data.get("incident_id")
        )
        return Response(alarms.acknowledgement_payload(acknowledgement), status=201)


class NamedCandidatesView(APIView):
    """Whom the board may alert by name to this incident (backend/dispatch/named.py): then POST
    their id to the incident's dispatch/ as `responder_ids` (the same action as the admin's form)."""

    @extend_schema(responses=api_responses("named_candidates", errors=(401, 403, 404)))
    def get(self, request, incident_id: int):
        return Response({"responders": named.named_candidates(actor=request.user, incident_id=incident_id)})
