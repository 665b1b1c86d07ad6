"""The coordinators' admin: incidents, their alerts, the admin actions and the live board."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from backend.dispatch import actions
from backend.dispatch.actions import cancel_incident, dispatch_incident, respond_to_alert
from backend.dispatch.models import Alert, Incident, IncidentStatus
from tests.conftest import admin_client_for

CHANGELIST = "admin:dispatch_incident_changelist"
ADD = "admin:dispatch_incident_add"
BOARD = "admin:dispatch_incident_board"


@pytest.fixture
def coordinator(carol):
    client = admin_client_for(carol)
    return client


@pytest.fixture
def alerts(incident, carol, alice, bob):
    return {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}


def change_url(incident):
    return reverse("admin:dispatch_incident_change", args=[incident.pk])


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def run_action(client, action, *incidents, **extra):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [incident.pk for incident in incidents], "index": 0, **extra},
    )


def confirm_dispatch(client, incident):
    """The list's Dispatch as its confirmation page posts it: with the alerts the page showed."""
    return client.post(
        reverse(CHANGELIST),
        {
            "action": "dispatch_incidents",
            "_selected_action": [incident.pk],
            "confirm": "yes",
            f"seen_alerts_{incident.pk}": incident.alerts.count(),
        },
    )


def states():
    return {a.responder.user.username: a.state for a in Alert.objects.select_related("responder__user")}


def add_form(**overrides):
    data = {
        "cad_reference": "EEAST-0002",
        "category": "cardiac_arrest",
        "address": "3 Example Close, Norwich",
        "latitude": "52.6310",
        "longitude": "1.2960",
        "what3words": "",
        "notes": "Side door",
    }
    return {**data, **overrides}


# --- The list and the incident's page ---------------------------------------------------------------


def test_the_list_shows_each_incident_with_how_many_were_alerted_and_accepted(coordinator, alerts, incident):
    respond_to_alert(actor=alerts["alice"].responder.user, alert_id=alerts["alice"].pk, response="accept")

    response = coordinator.get(reverse(CHANGELIST))

    assert response.status_code == 200
    content = response.content.decode()
    assert "EEAST-0001" in content and "12 Example Road, Norwich" in content
    [row] = response.context["cl"].result_list
    assert (row.alerted_total, row.accepted_total) == (2, 1)
    assert reverse(BOARD) in content  # the "Live board" button
    assert 'value="dispatch_incidents"' in content and 'value="cancel_incidents"' in content


def test_the_list_can_be_searched_by_cad_reference_and_filtered_by_status(coordinator, incident, carol):
    other = actions.create_incident(
        actor=carol, cad_reference="EEAST-0099", latitude=52.63, longitude=1.29, address="1 Other Street, Norwich"
    )
    cancel_incident(actor=carol, incident_id=other.pk, reason="Hoax")

    searched = coordinator.get(reverse(CHANGELIST), {"q": "0099"})
    filtered = coordinator.get(reverse(CHANGELIST), {"status__exact": "open"})

    assert [i.cad_reference for i in searched.context["cl"].result_list] == ["EEAST-0099"]
    assert [i.cad_reference for i in filtered.context["cl"].result_list] == ["EEAST-0001"]


def test_the_incident_page_shows_its_alerts_inline(coordinator, alerts, incident):
    respond_to_alert(
        actor=alerts["bob"].responder.user, alert_id=alerts["bob"].pk, response="decline", reason="too_far"
    )

    response = coordinator.get(change_url(incident))

    assert response.status_code == 200
    [inline] = response.context["inline_admin_formsets"]
    shown = {str(form.original.responder): form.original.state for form in inline}
    assert shown == {"Alice": "alerted", "Bob": "declined"}
    content = response.content.decode()
    assert "Alice" in content and "Bob" in content and "Norwich" in content
    assert "Too far away" in content  # the decline reason
    assert 'name="_save"' not in content  # read-only: changes happen through actions


def test_the_incident_page_cannot_be_used_to_change_the_incident(coordinator, incident):
    response = coordinator.post(change_url(incident), add_form(cad_reference="EEAST-9999", address="Elsewhere"))

    assert response.status_code == 403
    incident.refresh_from_db()
    assert (incident.cad_reference, incident.address) == ("EEAST-0001", "12 Example Road, Norwich")


def test_nobody_can_delete_incidents_or_alerts_in_the_admin(coordinator, alerts, incident):
    superuser = get_user_model().objects.create_superuser(username="root", password="correct horse battery")
    root = admin_client_for(superuser)
    alert = alerts["alice"]

    for client in (coordinator, root):
        assert client.get(reverse("admin:dispatch_incident_delete", args=[incident.pk])).status_code == 403
        assert client.post(reverse("admin:dispatch_alert_delete", args=[alert.pk])).status_code == 403
        assert 'value="delete_selected"' not in client.get(reverse(CHANGELIST)).content.decode()
        run_action(client, "delete_selected", incident, post="yes")
    assert Incident.objects.filter(pk=incident.pk).exists()
    assert Alert.objects.count() == 2


# --- Adding an incident ------------------------------------------------------------------------------


def test_adding_an_incident_creates_it_through_the_action(coordinator, carol, monkeypatch):
    calls = []
    original = actions.create_incident
    monkeypatch.setattr(actions, "create_incident", lambda **kwargs: calls.append(kwargs) or original(**kwargs))

    response = coordinator.post(reverse(ADD), add_form())

    created = Incident.objects.get(cad_reference="EEAST-0002")
    assert response.status_code == 302
    assert response["Location"] == change_url(created)  # straight to its page, ready to dispatch
    assert [call["cad_reference"] for call in calls] == ["EEAST-0002"]
    assert calls[0]["actor"] == carol
    assert created.created_by == carol
    assert (created.latitude, created.longitude, created.notes) == (52.631, 1.296, "Side door")
    assert created.status == IncidentStatus.OPEN


def test_a_duplicate_cad_reference_is_shown_on_the_form(coordinator, incident):
    response = coordinator.post(reverse(ADD), add_form(cad_reference="EEAST-0001", address="Somewhere else"))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["cad_reference"] == [f"Already used by incident {incident.pk}."]
    content = response.content.decode()
    assert f"An incident with CAD reference EEAST-0001 already exists (incident {incident.pk})." in content
    assert 'value="Somewhere else"' in content  # what the coordinator typed is kept
    assert Incident.objects.count() == 1


def test_a_location_out_of_range_is_refused(coordinator):
    response = coordinator.post(reverse(ADD), add_form(latitude="123"))

    assert response.status_code == 200
    assert "latitude" in response.context["adminform"].form.errors
    assert not Incident.objects.exists()


def test_someone_without_the_permission_cannot_add(alice, incident):
    staff = get_user_model().objects.create_user(username="viewer", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_incident"))
    client = admin_client_for(staff)

    assert client.post(reverse(ADD), add_form()).status_code == 403
    assert list(Incident.objects.values_list("cad_reference", flat=True)) == ["EEAST-0001"]


# --- Admin actions on the list -------------------------------------------------------------------


def test_the_dispatch_action_alerts_alice_and_bob(coordinator, incident, alice, bob, charlie):
    response = confirm_dispatch(coordinator, incident)

    assert response.status_code == 302
    assert states() == {"alice": "alerted", "bob": "alerted"}  # charlie is 30 km away
    [message] = messages_of(response)
    assert message.startswith("EEAST-0001: 2 responders alerted: Alice (Norwich")
    incident.refresh_from_db()
    assert incident.dispatched_at is not None


def test_dispatching_with_nobody_left_to_alert_says_so(coordinator, incident):
    response = confirm_dispatch(coordinator, incident)

    assert response.status_code == 302
    assert messages_of(response) == ["EEAST-0001: nobody was alerted: no station is within range."]


def test_a_refused_action_is_a_message_not_a_server_error(coordinator, incident, carol, alice):
    cancel_incident(actor=carol, incident_id=incident.pk, reason="Hoax")

    response = confirm_dispatch(coordinator, incident)

    assert response.status_code == 302
    [message] = messages_of(response)
    assert message.startswith("EEAST-0001 was cancelled at ")
    assert message.endswith(" by carol: a cancelled incident cannot be dispatched.")
    assert not Alert.objects.exists()


def test_the_stand_down_action_releases_those_who_have_not_answered(coordinator, alerts, incident):
    respond_to_alert(actor=alerts["alice"].responder.user, alert_id=alerts["alice"].pk, response="accept")

    response = run_action(coordinator, "stand_down_unanswered", incident)

    assert response.status_code == 302
    assert states() == {"alice": "accepted", "bob": "stood_down"}
    assert messages_of(response) == ["EEAST-0001: 1 responder stood down: Bob."]


def test_the_close_action_closes_and_stands_everyone_down(coordinator, alerts, incident):
    # As its confirmation page posts back (tests/dispatch/test_admin_list_confirmations.py).
    response = coordinator.post(
        reverse(CHANGELIST), {"action": "close_incidents", "_selected_action": [incident.pk], "confirm": "yes"}
    )

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED
    assert states() == {"alice": "stood_down", "bob": "stood_down"}


def test_the_cancel_action_first_asks_for_a_reason(coordinator, alerts, incident):
    response = run_action(coordinator, "cancel_incidents", incident)

    assert response.status_code == 200
    assert response.templates[0].name == "admin/dispatch/incident/cancel_confirmation.html"
    content = response.content.decode()
    assert 'name="reason"' in content and "EEAST-0001" in content
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.OPEN


def test_the_cancel_action_with_a_reason_cancels(coordinator, alerts, incident):
    # As the confirmation page posts back: no "index", the action, the selection and the reason.
    response = coordinator.post(
        reverse(CHANGELIST),
        {
            "action": "cancel_incidents",
            "_selected_action": [incident.pk],
            "confirm": "yes",
            "reason": "Ambulance on scene",
        },
    )

    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.status, incident.cancel_reason) == (IncidentStatus.CANCELLED, "Ambulance on scene")
    assert states() == {"alice": "cancelled", "bob": "cancelled"}
    assert messages_of(response) == ["EEAST-0001: cancelled (Ambulance on scene); everyone alerted has been told."]


def test_the_cancel_action_without_a_reason_refuses(coordinator, alerts, incident):
    response = coordinator.post(
        reverse(CHANGELIST),
        {"action": "cancel_incidents", "_selected_action": [incident.pk], "confirm": "yes", "reason": "   "},
    )

    assert response.status_code == 200
    assert "Say why the incident is cancelled." in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.OPEN
    assert states() == {"alice": "alerted", "bob": "alerted"}


def test_actions_are_offered_only_with_their_permission(incident, alice):
    staff = get_user_model().objects.create_user(username="viewer", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_incident"))
    client = admin_client_for(staff)

    listed = client.get(reverse(CHANGELIST))
    response = run_action(client, "dispatch_incidents", incident)

    assert "dispatch_incidents" not in listed.content.decode()
    assert response.status_code == 200  # "No action selected": the action is not one of theirs
    assert not Alert.objects.exists()


# --- Buttons on the incident's page -------------------------------------------------------------


def test_the_incident_page_has_buttons_that_call_the_actions(coordinator, incident, alice, bob):
    page = coordinator.get(change_url(incident)).content.decode()
    dispatch_url = reverse("admin:dispatch_incident_dispatch", args=[incident.pk])
    assert f'action="{dispatch_url}"' in page

    assert coordinator.get(dispatch_url).status_code == 405  # a state change needs a POST
    assert not Alert.objects.exists()
    response = coordinator.post(dispatch_url)

    assert response.status_code == 302 and response["Location"] == change_url(incident)
    assert states() == {"alice": "alerted", "bob": "alerted"}


def test_the_cancel_button_asks_for_a_reason_then_cancels(coordinator, alerts, incident):
    cancel_url = reverse("admin:dispatch_incident_cancel", args=[incident.pk])

    asked = coordinator.get(cancel_url)
    refused = coordinator.post(cancel_url, {"confirm": "yes", "reason": ""})
    assert asked.status_code == 200 and 'name="reason"' in asked.content.decode()
    assert refused.status_code == 200 and "Say why the incident is cancelled." in refused.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.OPEN

    cancelled = coordinator.post(cancel_url, {"confirm": "yes", "reason": "Not a cardiac arrest"})

    assert cancelled.status_code == 302
    incident.refresh_from_db()
    assert (incident.status, incident.cancel_reason) == (IncidentStatus.CANCELLED, "Not a cardiac arrest")


def test_a_closed_incident_shows_no_buttons(coordinator, incident, carol):
    actions.close_incident(actor=carol, incident_id=incident.pk)

    page = coordinator.get(change_url(incident)).content.decode()

    assert reverse("admin:dispatch_incident_dispatch", args=[incident.pk]) not in page
    assert reverse("admin:dispatch_incident_cancel", args=[incident.pk]) not in page


def test_a_button_needs_the_admin_permission_to_see_incidents(incident, alice):
    staff = get_user_model().objects.create_user(username="clerk", is_staff=True)
    client = admin_client_for(staff)

    response = client.post(reverse("admin:dispatch_incident_dispatch", args=[incident.pk]))

    assert response.status_code == 403
    assert not Alert.objects.exists()


def test_a_button_for_an_incident_that_does_not_exist_is_a_message(coordinator):
    response = coordinator.post(reverse("admin:dispatch_incident_close", args=[424242]))

    assert response.status_code == 302
    assert messages_of(response) == ["There is no incident 424242."]


# --- Alerts --------------------------------------------------------------------------------------------


def test_alerts_are_listed_read_only(coordinator, alerts):
    response = coordinator.get(reverse("admin:dispatch_alert_changelist"), {"state__exact": "alerted"})

    assert response.status_code == 200
    assert {str(a.responder) for a in response.context["cl"].result_list} == {"Alice", "Bob"}
    assert coordinator.get(reverse("admin:dispatch_alert_add")).status_code == 403
    alert = alerts["alice"]
    posted = coordinator.post(reverse("admin:dispatch_alert_change", args=[alert.pk]), {"state": "accepted"})
    assert posted.status_code == 403
    assert Alert.objects.get(pk=alert.pk).state == "alerted"


def test_the_events_sent_to_responders_can_be_read_but_not_changed(alerts):
    from backend.realtime.models import ResponderEvent

    superuser = get_user_model().objects.create_superuser(username="root", password="correct horse battery")
    client = admin_client_for(superuser)
    event = ResponderEvent.objects.filter(responder=alerts["alice"].responder).first()

    listed = client.get(reverse("admin:realtime_responderevent_changelist"))
    shown = client.get(reverse("admin:realtime_responderevent_change", args=[event.pk]))

    assert listed.status_code == 200 and len(listed.context["cl"].result_list) == ResponderEvent.objects.count()
    assert shown.status_code == 200 and "alert.created" in shown.content.decode()
    assert client.post(reverse("admin:realtime_responderevent_delete", args=[event.pk])).status_code == 403
    assert client.get(reverse("admin:realtime_responderevent_add")).status_code == 403
    assert ResponderEvent.objects.filter(pk=event.pk).exists()


# --- The live board ----------------------------------------------------------------------------------


def test_carol_sees_the_board_with_its_script(coordinator):
    response = coordinator.get(reverse(BOARD))

    assert response.status_code == 200
    content = response.content.decode()
    assert '<script type="module" src="/static/dispatch/board.js"></script>' in content
    assert 'data-socket-path="/ws/coordinator/"' in content
    assert finders.find("dispatch/board.js") is not None


def test_a_firefighter_cannot_see_the_board(alice):
    client = Client()
    client.force_login(alice.user)

    response = client.get(reverse(BOARD))

    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_staff_without_the_coordinators_group_cannot_see_the_board(db):
    staff = get_user_model().objects.create_user(username="clerk", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_incident"))
    client = admin_client_for(staff)

    assert client.get(reverse(BOARD)).status_code == 403
    assert reverse(BOARD) not in client.get(reverse(CHANGELIST)).content.decode()


def test_someone_not_logged_in_is_sent_to_log_in(db):
    response = Client().get(reverse(BOARD))

    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_an_open_incidents_page_follows_its_alerts_live(coordinator, incident):
    content = coordinator.get(change_url(incident)).content.decode()

    assert "/static/dispatch/board.js" in content
    assert f'data-incident-id="{incident.pk}"' in content


def test_the_incident_page_shows_what_was_sent_to_each_device(carol, incident, alice):

    from backend.delivery.models import Delivery
    from backend.delivery.subscriptions import subscribe_device
    from backend.dispatch.actions import dispatch_incident
    from tests.conftest import browser_subscription

    endpoint = "https://fcm.googleapis.com/fcm/send/alices-phone"
    subscribe_device(
        actor=alice.user, endpoint=endpoint, label="Alice's Pixel", **browser_subscription(endpoint)["keys"]
    )
    dispatch_incident(actor=carol, incident_id=incident.pk)
    Delivery.objects.update(state="failed", last_status=410, last_error="Attempt 1: The subscription is gone (410).")
    browser = admin_client_for(carol)
    page = browser.get(f"/admin/dispatch/incident/{incident.pk}/change/").content.decode()
    assert "Alice&#x27;s Pixel" in page
    assert "The subscription is gone (410)." in page


# --- Alerting a named responder (the override of commitment) ---------------------------------------


def alert_named_url(incident):
    return reverse("admin:dispatch_incident_alert_named", args=[incident.pk])


@pytest.fixture
def charlie_on_another_job(carol, charlie):
    other = actions.create_incident(
        actor=carol, cad_reference="YARM-1", latitude=52.6089, longitude=1.7262, address="1 Quay, Great Yarmouth"
    )
    [alert] = dispatch_incident(actor=carol, incident_id=other.pk)
    respond_to_alert(actor=charlie.user, alert_id=alert.pk, response="accept")
    return other


def test_the_named_alert_page_lists_who_can_go_nearest_first_and_who_is_busy(
    coordinator, alerts, incident, charlie_on_another_job, dave
):
    response = coordinator.get(alert_named_url(incident))

    assert response.status_code == 200
    choices = [label for _, label in response.context["form"].fields["responder"].choices]
    # Alice and Bob are already alerted here; Charlie is on the Yarmouth job; Dave is far west.
    assert choices == ["Charlie (Great Yarmouth, 29.2 km): on YARM-1 (accepted)", "Dave (King's Lynn, 61.6 km)"]


def test_a_busy_responder_is_alerted_only_with_the_override_ticked(
    coordinator, alerts, incident, charlie, charlie_on_another_job
):
    refused = coordinator.post(alert_named_url(incident), {"responder": charlie.pk})
    assert refused.status_code == 200
    assert "Charlie is on incident YARM-1 (accepted). Tick the box" in refused.content.decode()
    assert not Alert.objects.filter(incident=incident, responder=charlie).exists()

    response = coordinator.post(alert_named_url(incident), {"responder": charlie.pk, "override": "on"})

    assert response.status_code == 302 and response["Location"] == change_url(incident)
    assert Alert.objects.get(incident=incident, responder=charlie).state == "alerted"
    assert messages_of(response) == ["EEAST-0001: Charlie alerted."]


def test_the_incident_page_offers_the_named_alert(coordinator, alerts, incident):
    assert alert_named_url(incident) in coordinator.get(change_url(incident)).content.decode()


def test_the_incident_and_alert_pages_show_each_device_sent_shown_opened_and_answered(
    coordinator, incident, carol, alice, bob
):
    import re

    from backend.delivery.receipts import record_receipt
    from backend.delivery.sending import claim_due, record_sent_batch
    from backend.delivery.subscriptions import subscribe_device
    from tests.conftest import browser_subscription

    for label, name in (("Alice's phone", "phone"), ("Alice's tablet", "tablet")):
        endpoint = f"https://fcm.googleapis.com/fcm/send/{name}"
        subscribe_device(actor=alice.user, endpoint=endpoint, label=label, **browser_subscription(endpoint)["keys"])
    alerts = {a.responder.user.username: a for a in dispatch_incident(actor=carol, incident_id=incident.pk)}
    jobs = claim_due(worker="test-worker", limit=10)
    record_sent_batch([(job, 201) for job in jobs], worker="test-worker")
    phone = next(job for job in jobs if job.endpoint.endswith("/phone"))
    record_receipt(alert_id=phone.alert_id, token=phone.receipt_token, event="opened")
    respond_to_alert(actor=alice.user, alert_id=alerts["alice"].pk, response="accept")

    for url in (change_url(incident), reverse("admin:dispatch_alert_change", args=[alerts["alice"].pk])):
        page = coordinator.get(url).content.decode()
        rows = {
            cells[1]: cells
            for cells in (
                re.findall(r"<td>(.*?)</td>", row)
                for row in re.findall(r"<tr><td>(.*?)</tr>", page.replace("<tr><td>", "<tr><td><td>"))
            )
            if len(cells) == 6
        }
        phone_row, tablet_row = rows["Alice&#x27;s phone"], rows["Alice&#x27;s tablet"]
        assert re.match(r"\d\d:\d\d:\d\d \(\+0:0\d\)", phone_row[2]) and re.match(r"\d\d:\d\d:\d\d", phone_row[3])
        assert re.match(r"\d\d:\d\d:\d\d", phone_row[4]) and phone_row[5].startswith("Accepted")
        assert re.match(r"\d\d:\d\d:\d\d", tablet_row[2]) and tablet_row[3] == "—" and tablet_row[4] == "—"
    bobs = coordinator.get(change_url(incident)).content.decode()
    assert "No device registered for pushes" in bobs
