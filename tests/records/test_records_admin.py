"""The records in the admin: coordinators read and amend attendance and outcome records (audited);
welfare check-ins exist only for welfare leads; the audit trail is read-only for everyone."""

import uuid

import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from backend.audit.models import AuditEntry
from backend.records.models import Amendment, Attendance
from tests.conftest import admin_client_for
from tests.records.conftest import submit, valid_outcome


def browser(user) -> Client:
    """Logged in to the admin past its second factor."""
    return admin_client_for(user)


@pytest.fixture
def attendance(alice_alert):
    return submit(alice_alert, attended=True, appliance="21P1")[0]


@pytest.fixture
def check_in(bob_alert):
    return submit(bob_alert, "welfare", impact=4, follow_up="trim")[0]


def views_of(kind, user):
    return AuditEntry.objects.filter(object_type=kind, action="view", actor=user)


def test_a_coordinator_lists_attendances_and_each_one_shown_is_audited(attendance, carol):
    response = browser(carol).get(reverse("admin:records_attendance_changelist"))
    assert response.status_code == 200
    [entry] = views_of("attendance", carol)
    assert (entry.object_id, entry.channel, entry.role, entry.detail) == (
        str(attendance.pk),
        "admin",
        "coordinator",
        {"list": True},
    )


def test_a_coordinator_reads_an_attendance_and_it_is_audited(attendance, carol):
    response = browser(carol).get(reverse("admin:records_attendance_change", args=[attendance.pk]))
    assert response.status_code == 200
    assert b"21P1" in response.content and b"Amend this record" in response.content
    assert views_of("attendance", carol).get().object_id == str(attendance.pk)


def test_nobody_changes_or_deletes_records_through_the_admin_pages(attendance, carol):
    client = browser(carol)
    response = client.post(reverse("admin:records_attendance_change", args=[attendance.pk]), {"appliance": "X"})
    assert response.status_code == 403
    assert client.get(reverse("admin:records_attendance_delete", args=[attendance.pk])).status_code == 403
    assert Attendance.objects.get().appliance == "21P1"


def amend_page(record):
    return reverse("admin:records_attendance_amend", args=[record.pk])


def amend_post(record, **changes):
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "attended": "on" if record.attended else "",
        "appliance": record.appliance,
        "role": record.role,
        "notes": record.notes,
        **changes,
    }
    return {key: value for key, value in data.items() if value is not None}


def test_a_coordinator_amends_with_a_reason(attendance, carol):
    client = browser(carol)
    shown = client.get(amend_page(attendance))
    assert shown.status_code == 200 and b"reason" in shown.content
    response = client.post(amend_page(attendance), amend_post(attendance, appliance="21P2", reason="Logbook says 21P2"))
    assert response.status_code == 302, response.content.decode()[:3000]
    stored = Attendance.objects.get()
    assert (stored.appliance, stored.version) == ("21P2", 2)
    amendment = Amendment.objects.get()
    assert (amendment.by_coordinator, amendment.changed_fields, amendment.reason) == (
        True,
        ["appliance"],
        "Logbook says 21P2",
    )
    assert AuditEntry.objects.filter(object_type="attendance", action="amend", channel="admin").count() == 1
    page = client.get(reverse("admin:records_attendance_change", args=[attendance.pk])).content.decode()
    assert "Logbook says 21P2" in page and "carol (coordinator)" in page


def test_an_amendment_without_a_reason_is_refused_on_the_form(attendance, carol):
    response = browser(carol).post(amend_page(attendance), amend_post(attendance, appliance="21P2", reason=""))
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert Attendance.objects.get().version == 1


def test_a_rule_broken_by_an_amendment_is_shown_on_its_field(erin_alert, carol):
    outcome = submit(erin_alert, "outcome", **valid_outcome())[0]
    client = browser(carol)
    page = reverse("admin:records_outcome_amend", args=[outcome.pk])
    form = client.get(page).context["form"]
    data = {name: value for name, value in _initial_post_data(form).items()}
    data.update(
        defibrillator_applied="false", reason="Checked the defibrillator's log", idempotency_key=str(uuid.uuid4())
    )
    response = client.post(page, data)
    assert response.status_code == 200
    assert response.context["form"].errors["crew_shocks"] == [
        "Shocks need the crew's defibrillator applied: answer Yes, or set shocks to 0."
    ]


def _initial_post_data(form) -> dict:
    """What a browser would post for the form as shown."""
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field, forms.NullBooleanField):
            data[name] = field.widget.format_value(value)  # a select: "true", "false" or "unknown"
            continue
        if value is None or value is False:
            continue
        if value is True:
            data[name] = "on"
        elif isinstance(value, list):
            data[name] = [str(item.pk if hasattr(item, "pk") else item) for item in value]
        else:
            data[name] = field.widget.format_value(value) or ""
    return data


def test_pressing_amend_twice_amends_once(attendance, carol):
    client = browser(carol)
    post = amend_post(attendance, appliance="21P2", reason="Logbook")
    client.post(amend_page(attendance), post)
    client.post(amend_page(attendance), post)
    assert Amendment.objects.count() == 1 and Attendance.objects.get().version == 2


def test_a_firefighter_or_welfare_lead_cannot_amend(attendance, wendy, nobody):
    for user in (wendy, nobody):
        user.is_staff = True
        user.save()
        response = browser(user).get(amend_page(attendance))
        assert response.status_code == 403


# --- Welfare check-ins ----------------------------------------------------------------------------------


def test_a_coordinator_does_not_see_welfare_check_ins(check_in, carol):
    client = browser(carol)
    assert client.get(reverse("admin:records_welfarecheckin_changelist")).status_code == 404
    assert client.get(reverse("admin:records_welfarecheckin_change", args=[check_in.pk])).status_code == 404
    index = client.get(reverse("admin:index")).content.decode()
    assert "Welfare check-ins" not in index and "Attendances" in index
    assert not views_of("welfare", carol).exists()


def test_a_welfare_lead_reads_check_ins_and_each_read_is_audited(check_in, wendy):
    client = browser(wendy)
    assert client.get(reverse("admin:records_welfarecheckin_changelist")).status_code == 200
    assert client.get(reverse("admin:records_welfarecheckin_change", args=[check_in.pk])).status_code == 200
    assert [entry.detail for entry in views_of("welfare", wendy).order_by("id")] == [{"list": True}, {}]
    assert browser(wendy).get(reverse("admin:records_attendance_changelist")).status_code == 403


# --- The audit trail ---------------------------------------------------------------------------------------


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser(username="root", email="root@example.org", password=None)


def test_coordinators_read_the_audit_trail_filter_and_search_it(attendance, carol):
    client = browser(carol)
    changelist = reverse("admin:audit_auditentry_changelist")
    assert client.get(changelist).status_code == 200
    assert client.get(changelist, {"action__exact": "create", "object_type": "attendance"}).status_code == 200
    found = client.get(changelist, {"q": "alice"})
    assert found.status_code == 200 and found.context["cl"].result_count >= 1
    assert client.get(changelist, {"q": str(attendance.alert.incident_id)}).status_code == 200
    entry = AuditEntry.objects.first()
    assert client.get(reverse("admin:audit_auditentry_change", args=[entry.pk])).status_code == 200


def test_nobody_adds_changes_or_deletes_audit_entries_in_the_admin_not_even_a_superuser(attendance, carol, superuser):
    entry = AuditEntry.objects.first()
    for user in (carol, superuser):
        client = browser(user)
        assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
        assert client.post(reverse("admin:audit_auditentry_change", args=[entry.pk]), {"role": "x"}).status_code == 403
        assert client.get(reverse("admin:audit_auditentry_delete", args=[entry.pk])).status_code == 403
        response = client.post(
            reverse("admin:audit_auditentry_changelist"),
            {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
        )
        assert response.status_code in (200, 302, 403)
    assert AuditEntry.objects.filter(pk=entry.pk, role=entry.role).exists()


def test_a_firefighter_cannot_read_the_audit_trail(attendance, alice):
    alice.user.is_staff = True
    alice.user.save()
    assert browser(alice.user).get(reverse("admin:audit_auditentry_changelist")).status_code == 403


# --- The CAD's times beside the crew's ------------------------------------------------------------


def test_the_outcome_page_shows_the_cads_times_and_the_cad_times_list_is_read_only(erin_alert, carol):
    import datetime

    from django.utils import timezone

    from backend.records.models import CadTimes
    from backend.records.models import Outcome as OutcomeRecord
    from tests.records.conftest import valid_outcome

    submit(erin_alert, "outcome", **valid_outcome())
    outcome = OutcomeRecord.objects.get()
    client = browser(carol)
    page = client.get(reverse("admin:records_outcome_change", args=[outcome.pk]))
    assert b"Not sent by the CAD yet" in page.content

    call = timezone.now() - datetime.timedelta(minutes=40)
    CadTimes.objects.create(incident=erin_alert.incident, call_received_at=call, updated_at=timezone.now())
    page = client.get(reverse("admin:records_outcome_change", args=[outcome.pk])).content.decode()
    assert "999 call received:" in page and "first ambulance at scene: not sent" in page

    listing = client.get(reverse("admin:records_cadtimes_changelist"))
    assert listing.status_code == 200 and erin_alert.incident.cad_reference in listing.content.decode()
    change = reverse("admin:records_cadtimes_change", args=[erin_alert.incident.pk])
    assert client.post(change, {"call_received_at": ""}).status_code == 403
    assert CadTimes.objects.get().call_received_at == call
