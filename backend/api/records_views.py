"""REST API v1: the after-call records (issue 5; contract in docs and /work/records-api-contract.md).

Each form kind has its own URLs, so the OpenAPI document describes each exactly. Views parse the
envelope (the idempotency key, the reason) and hand the form's fields to one action of
backend.records.actions, which parses and checks them (backend/records/validation.py) and audits
every read and write."""

import copy
import datetime
import uuid

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.errors import InvalidInput
from backend.records import access, actions, payloads
from backend.records.models import Outcome, RecordKind
from backend.schemas import load

# How far back a firefighter's list of their own records goes.
MY_RECORDS_DAYS = 30

_KIND_WORDS = {
    RecordKind.ATTENDANCE: "attendance",
    RecordKind.OUTCOME: "outcome (the crew's, filled in by one who attended)",
    RecordKind.WELFARE: "welfare check-in (private to its author and the welfare leads)",
}


class _DocumentedBody(serializers.Serializer):
    """Stands for a request body in the OpenAPI document: its schema is built from the form's
    field list (backend/records/payloads.py), not from serializer fields. The view parses the body
    itself; this class is never instantiated with data."""

    component_name = ""
    raw_schema: dict = {}


class _DocumentedBodyExtension(OpenApiSerializerExtension):
    target_class = _DocumentedBody
    match_subclasses = True

    def get_name(self, auto_schema, direction):
        return self.target.component_name

    def map_serializer(self, auto_schema, direction):
        # A copy: drf-spectacular's enum hook rewrites the schemas it is given in place (each
        # choice set becomes a $ref to one named enum), so handing it the class's own dict would
        # leave the next document with those $refs and no enums to name.
        return copy.deepcopy(self.target.raw_schema)


def _documented_body(name: str, schema: dict) -> type[_DocumentedBody]:
    return type(name, (_DocumentedBody,), {"component_name": name, "raw_schema": schema})


def _error_responses(*codes: int) -> dict:
    error = load("api_error")
    return {code: OpenApiResponse(response=error) for code in codes}


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
    return dict(request.data.items())


def _idempotency_key(body: dict) -> uuid.UUID:
    value = body.pop("idempotency_key", None)
    if value is None:
        message = "Send a key made by the app for this submission (a UUID), the same one on every retry."
        raise InvalidInput(message, fields={"idempotency_key": [message]})
    try:
        if not isinstance(value, str):
            raise TypeError
        return uuid.UUID(value)
    except (ValueError, TypeError):
        message = "Give a UUID, e.g. 5f0c6a1e-2b7d-4c1a-9f3e-8d2b6a4c1e07."
        raise InvalidInput(message, fields={"idempotency_key": [message]}) from None


def _change_request(request) -> tuple[dict, uuid.UUID, str]:
    """A change's fields, its idempotency key and its reason (checked by the action)."""
    body = _body(request)
    key = _idempotency_key(body)
    return body, key, body.pop("reason", "")


def _record_response(kind: str, record, status: int = 200) -> Response:
    return Response({"record": payloads.record_payload(kind, record)}, status=status)


def _form_view(kind: str) -> type[APIView]:
    """GET the form of one of the user's accepted alerts, POST it, PATCH it with a reason."""
    words = _KIND_WORDS[kind]
    record_response = OpenApiResponse(response=payloads.record_response_schema(kind))

    class FormView(APIView):
        @extend_schema(
            operation_id=f"records_{kind}_get",
            summary=f"The {words} form of one of my alerts",
            description="The stored record (or null), what the server can fill in, and whether I may change it "
            "now. 404: not my alert, or one I never accepted.",
            responses={
                200: OpenApiResponse(response=payloads.form_schema(kind)),
                **_error_responses(401, 403, 404),
            },
        )
        def get(self, request, alert_id: int):
            form = actions.open_form(actor=request.user, kind=kind, alert_id=alert_id)
            return Response(
                {
                    "record": payloads.record_payload(kind, form.record) if form.record is not None else None,
                    "prefill": form.prefill,
                    "editable": form.editable,
                    "lock_hours": settings.RECORDS_LOCK_HOURS,
                    "cad_times": form.cad_times,
                    "outcome_duty": form.outcome_duty,
                    "own_forms_expected": form.own_forms_expected,
                    "prefill_estimated": list(form.estimated),
                }
            )

        @extend_schema(
            operation_id=f"records_{kind}_submit",
            summary=f"Submit the {words} form",
            description="201: stored. 200: already stored under this key (a retry): the stored record. "
            "409 idempotency_key_reused: the key was used for a different submission. 409 already_submitted: "
            "the form was submitted under another key (error.record holds it): use PATCH.",
            request=_documented_body(f"{kind.title()}Submission", payloads.submit_schema(kind)),
            responses={201: record_response, 200: record_response, **_error_responses(400, 401, 403, 404, 409)},
        )
        def post(self, request, alert_id: int):
            body = _body(request)
            key = _idempotency_key(body)
            record, created = actions.submit_record(
                actor=request.user, kind=kind, alert_id=alert_id, idempotency_key=key, fields=body
            )
            return _record_response(kind, record, status=201 if created else 200)

        @extend_schema(
            operation_id=f"records_{kind}_change",
            summary=f"Change my {words} form, with a reason",
            description=_change_rule(kind) + " The same key and body again is a retry: 200 with the record.",
            request=_documented_body(f"{kind.title()}Change", payloads.change_schema(kind)),
            responses={200: record_response, **_error_responses(400, 401, 403, 404, 409)},
        )
        def patch(self, request, alert_id: int):
            body, key, reason = _change_request(request)
            record = actions.change_record(
                actor=request.user, kind=kind, alert_id=alert_id, idempotency_key=key, reason=reason, fields=body
            )
            return _record_response(kind, record)

    FormView.__name__ = f"{kind.title()}FormView"
    FormView.__qualname__ = FormView.__name__
    return FormView


def _change_rule(kind: str) -> str:
    if kind == RecordKind.WELFARE:
        return "At any time: a welfare check-in never locks (nobody else may change it)."
    return (
        f"Only while the record is open ({settings.RECORDS_LOCK_HOURS} hours after it was submitted); after that "
        "409 locked, and only a coordinator can amend it."
    )


def _amend_view(kind: str) -> type[APIView]:
    """A coordinator amends an attendance or outcome record, locked or not, with a reason."""

    class AmendView(APIView):
        @extend_schema(
            operation_id=f"records_{kind}_amend",
            summary=f"Amend an {kind} record (coordinators)",
            description="Needs records.amend_record. The same key and body again is a retry: 200 with the record.",
            request=_documented_body(f"{kind.title()}Amendment", payloads.change_schema(kind)),
            responses={
                200: OpenApiResponse(response=payloads.record_response_schema(kind)),
                **_error_responses(400, 401, 403, 404, 409),
            },
        )
        def post(self, request, record_id: int):
            body, key, reason = _change_request(request)
            record = actions.amend_record(
                actor=request.user, kind=kind, record_id=record_id, idempotency_key=key, reason=reason, fields=body
            )
            return _record_response(kind, record)

    AmendView.__name__ = f"{kind.title()}AmendView"
    AmendView.__qualname__ = AmendView.__name__
    return AmendView


AttendanceFormView = _form_view(RecordKind.ATTENDANCE)
OutcomeFormView = _form_view(RecordKind.OUTCOME)
WelfareFormView = _form_view(RecordKind.WELFARE)
AttendanceAmendView = _amend_view(RecordKind.ATTENDANCE)
OutcomeAmendView = _amend_view(RecordKind.OUTCOME)


class MyRecordsView(APIView):
    @extend_schema(
        operation_id="records_mine",
        summary="My accepted alerts of the last 30 days, with the state of each form",
        responses={200: OpenApiResponse(response=payloads.my_records_schema()), **_error_responses(401, 403)},
    )
    def get(self, request):
        since = timezone.now() - datetime.timedelta(days=MY_RECORDS_DAYS)
        alerts = list(access.my_accepted_alerts(request.user, since=since))
        outcomes = _outcomes_of(alerts)
        duties = access.outcome_duties(alerts)
        return Response(
            {
                "results": [
                    {
                        "alert_id": alert.pk,
                        "incident_id": alert.incident_id,
                        "cad_reference": alert.incident.cad_reference,
                        "alerted_at": alert.alerted_at.isoformat(),
                        "attendance": payloads.record_summary(getattr(alert, "attendance", None)),
                        "outcome": payloads.record_summary(outcomes.get((alert.incident_id, alert.station_id))),
                        "outcome_expected": duties[(alert.incident_id, alert.station_id)].expected,
                        "fills_outcome": duties[(alert.incident_id, alert.station_id)].falls_to(alert),
                        "welfare": payloads.record_summary(getattr(alert, "welfare_check_in", None)),
                        "own_forms_expected": not access.never_set_off(alert, access.logged_on_scene(alert)),
                        "is_crew_lead": access.is_crew_lead(alert.responder),
                    }
                    for alert in alerts
                ]
            }
        )


def _outcomes_of(alerts) -> dict:
    """The crews' outcomes of these alerts, by (incident, station), in one query."""
    if not alerts:
        return {}
    outcomes = Outcome.objects.filter(
        incident_id__in={alert.incident_id for alert in alerts}, station_id__in={alert.station_id for alert in alerts}
    )
    return {(outcome.incident_id, outcome.station_id): outcome for outcome in outcomes}


class WelfareCheckInListView(APIView):
    @extend_schema(
        operation_id="welfare_check_ins_list",
        summary="Welfare check-ins, newest first (welfare leads only)",
        description="Anyone who is not a welfare lead gets 404. Every check-in listed is audited as read.",
        responses={200: OpenApiResponse(response=payloads.welfare_list_schema()), **_error_responses(401, 404)},
    )
    def get(self, request):
        check_ins = access.welfare_check_ins_for_lead(request.user).order_by("-submitted_at", "-pk")
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(check_ins, request, view=self)
        actions.record_reads(
            request.user, RecordKind.WELFARE, page, incident_of=lambda check_in: check_in.alert.incident_id
        )
        return paginator.get_paginated_response([payloads.welfare_list_item(check_in) for check_in in page])


class CadTimesView(APIView):
    """The ambulance service's CAD sends its own times of an incident (its API token, like its
    incident creation): shown read-only on the crews' outcome forms and exported to the registry."""

    @extend_schema(
        operation_id="incidents_cad_times",
        summary="Send the CAD's times of an incident (999 call received, ambulance at scene)",
        description="Either or both; null clears one. The same times again change nothing. 400 names the field "
        "at fault (a time without its offset, in the future, more than a day before the incident, or the "
        "ambulance at scene before the call).",
        request=_documented_body("CadTimes", payloads.cad_times_schema()),
        responses={
            200: OpenApiResponse(response=payloads.cad_times_schema()),
            **_error_responses(400, 401, 403, 404),
        },
    )
    def post(self, request, incident_id: int):
        stored = actions.record_cad_times(actor=request.user, incident_id=incident_id, fields=request.data)
        return Response(payloads.cad_times_payload(stored.incident_id))
