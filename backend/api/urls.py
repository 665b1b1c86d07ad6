from django.urls import path

from backend.api import (
    map_views,
    messages_views,
    places_views,
    positions_views,
    postcodes_views,
    records_views,
    views,
)

urlpatterns = [
    path("incidents/", views.IncidentListView.as_view(), name="incident-list"),
    path("incidents/<int:incident_id>/", views.IncidentDetailView.as_view(), name="incident-detail"),
    path("incidents/<int:incident_id>/dispatch/", views.DispatchView.as_view(), name="incident-dispatch"),
    path("incidents/<int:incident_id>/stand-down/", views.StandDownView.as_view(), name="incident-stand-down"),
    path("incidents/<int:incident_id>/cancel/", views.CancelView.as_view(), name="incident-cancel"),
    path("incidents/<int:incident_id>/close/", views.CloseView.as_view(), name="incident-close"),
    path("incidents/<int:incident_id>/named-candidates/", views.NamedCandidatesView.as_view(), name="named-candidates"),
    path("incidents/<int:incident_id>/cad-times/", records_views.CadTimesView.as_view(), name="incident-cad-times"),
    # The board's alarms: acknowledged by a coordinator, on every board (issue 15).
    path("alarms/acknowledge/", views.AlarmAcknowledgeView.as_view(), name="alarm-acknowledge"),
    path(
        "incidents/<int:incident_id>/defibrillators/",
        places_views.IncidentDefibrillatorsView.as_view(),
        name="incident-defibrillators",
    ),
    # Messages to the crews (issue 15): backend/api/messages_views.py.
    path(
        "incidents/<int:incident_id>/messages/",
        messages_views.IncidentMessagesView.as_view(),
        name="incident-messages",
    ),
    path(
        "messages/<int:message_id>/acknowledge/",
        messages_views.AcknowledgeMessageView.as_view(),
        name="message-acknowledge",
    ),
    path("postcodes/<str:postcode>/", postcodes_views.PostcodeView.as_view(), name="postcode"),
    path("alerts/", views.MyAlertListView.as_view(), name="my-alert-list"),
    path("alerts/<int:alert_id>/", views.MyAlertDetailView.as_view(), name="my-alert-detail"),
    path("alerts/<int:alert_id>/respond/", views.RespondView.as_view(), name="my-alert-respond"),
    path("alerts/<int:alert_id>/events/", views.OnSceneEventListView.as_view(), name="my-alert-onscene-events"),
    path("checklist/", views.ChecklistView.as_view(), name="checklist"),
    path("me/", views.MeView.as_view(), name="me"),
    path("auth/csrf/", views.CsrfTokenView.as_view(), name="auth-csrf"),
    path("auth/session/", views.SessionView.as_view(), name="auth-session"),
    path("auth/login/", views.LoginView.as_view(), name="auth-login"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("push-subscriptions/", views.PushSubscriptionView.as_view(), name="push-subscriptions"),
    # Readiness: "Test my alerts" and the app's word on its phone (backend/delivery/readiness.py).
    path("push-tests/", views.PushTestListView.as_view(), name="push-tests"),
    path("push-tests/<int:check_id>/", views.PushTestDetailView.as_view(), name="push-test-detail"),
    path("push-device-state/", views.PushDeviceStateView.as_view(), name="push-device-state"),
    path("push/vapid-public-key/", views.VapidPublicKeyView.as_view(), name="vapid-public-key"),
    # The phones' receipts: no session, a single-use token instead (backend/delivery/receipts.py).
    path("push-receipts/", views.PushReceiptView.as_view(), name="push-receipts"),
    # After-call records (issue 5): backend/api/records_views.py.
    path("alerts/<int:alert_id>/attendance/", records_views.AttendanceFormView.as_view(), name="my-attendance"),
    path("alerts/<int:alert_id>/outcome/", records_views.OutcomeFormView.as_view(), name="my-outcome"),
    path("alerts/<int:alert_id>/welfare/", records_views.WelfareFormView.as_view(), name="my-welfare"),
    path("records/", records_views.MyRecordsView.as_view(), name="my-records"),
    path(
        "records/attendance/<int:record_id>/amend/",
        records_views.AttendanceAmendView.as_view(),
        name="attendance-amend",
    ),
    path("records/outcome/<int:record_id>/amend/", records_views.OutcomeAmendView.as_view(), name="outcome-amend"),
    path("welfare-check-ins/", records_views.WelfareCheckInListView.as_view(), name="welfare-check-ins"),
    # The maps' tile settings and the stations (backend/api/map_views.py; docs/maps.md).
    path("map/", map_views.MapView.as_view(), name="map"),
    # Positions and arrival estimates (issue 14): backend/api/positions_views.py.
    path("alerts/<int:alert_id>/positions/", positions_views.AlertPositionView.as_view(), name="my-alert-positions"),
    path(
        "incidents/<int:incident_id>/positions/",
        positions_views.IncidentPositionsView.as_view(),
        name="incident-positions",
    ),
    path(
        "incidents/<int:incident_id>/ambulance-eta/",
        positions_views.AmbulanceEtaView.as_view(),
        name="incident-ambulance-eta",
    ),
    path("me/position/", positions_views.MyPositionView.as_view(), name="my-position"),
]
