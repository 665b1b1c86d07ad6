"""The checklist's clinical sign-off (backend/checklists/signoff.py): each content file is a
version, a draft until a clinical safety officer records the clinician's review and approves it;
production serves only an approved version (and `check --deploy --database default` fails without
one), development serves the draft marked as such; every change is audited."""

import copy
import datetime
import html

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse
from django.utils import timezone

from backend import roles
from backend.audit.models import AuditEntry
from backend.checklists import checks, content, signoff
from backend.checklists.models import ChecklistVersion, SignOffStatus
from backend.errors import Conflict, InvalidInput, NotAllowed
from tests.api.helpers import assert_error, assert_matches
from tests.conftest import admin_client_for, client_for

REVIEW = {
    "reviewer_name": "Dr Priya Shah",
    "reviewer_role": "Consultant paramedic, East of England Ambulance Service",
    "reviewer_registration": "HCPC PA012345",
}


@pytest.fixture
def oscar(db):
    """The clinical safety officer."""
    user = get_user_model().objects.create_user(username="oscar", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.CLINICAL_SAFETY_OFFICERS))
    return user


@pytest.fixture
def draft(db):
    """The repository's newest version, as every migrate loads it: a draft."""
    return ChecklistVersion.objects.get(version=content.current()["version"])


def confirmed_content() -> dict:
    """The repository's content as it will be once a clinician has confirmed the infant hand
    position: the placeholder sentence replaced (here by a stand-in, not clinical text)."""
    document = copy.deepcopy(content.current())
    step = next(s for s in document["variants"]["infant"]["steps"] if s["id"] == "compressions")
    step["instruction"] = step["instruction"].split("Hand position:")[0] + "Hand position: (test stand-in)."
    assert content.placeholders(document) == []
    return document


@pytest.fixture
def confirmed(draft, monkeypatch):
    """A draft with no placeholder left, loaded as migrate loads an edited file (a month ago)."""
    document = confirmed_content()
    monkeypatch.setattr(signoff, "content_files", lambda: [("bls-aed-v2.json", document)])
    [row] = signoff.sync_content_files()
    ChecklistVersion.objects.filter(pk=row.pk).update(loaded_at=timezone.now() - datetime.timedelta(days=30))
    _baseline["id"] = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    row.refresh_from_db()
    return row


def last_week() -> datetime.date:
    """A review date after the `confirmed` version was loaded and before today."""
    return timezone.localdate() - datetime.timedelta(days=7)


@pytest.fixture
def production(settings):
    settings.PRODUCTION = True
    return settings


def approve(actor, version, **changes):
    return signoff.approve_version(
        actor=actor, version_id=version.pk, **{**REVIEW, "reviewed_on": timezone.localdate(), **changes}
    )


@pytest.fixture(autouse=True)
def audit_baseline(request):
    """The audit trail already holds the entries of the test database's own migrate."""
    if "db" in request.fixturenames or "draft" in request.fixturenames:
        request.getfixturevalue("db")
        _baseline["id"] = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


_baseline = {"id": 0}


def sign_off_entries():
    """The sign-off's audit entries written during the test."""
    return list(AuditEntry.objects.filter(object_type=signoff.OBJECT_TYPE, id__gt=_baseline["id"]).order_by("id"))


# --- Loading the content files ----------------------------------------------------------------------


def test_migrate_loads_each_content_file_as_a_draft_version(draft):
    assert draft.status == SignOffStatus.DRAFT
    assert draft.content == content.current()
    assert draft.content_sha256 == signoff.content_hash(content.current())
    assert (draft.reviewer_name, draft.reviewed_on) == ("", None)


def test_loading_a_new_file_writes_a_draft_recording_where_it_came_from(db):
    ChecklistVersion.objects.all().delete()

    [row] = signoff.sync_content_files()

    assert row.status == SignOffStatus.DRAFT and row.version == content.current()["version"]
    assert (row.source_file, row.content_sha256) == ("bls-aed-v2.json", signoff.content_hash(content.current()))
    assert row.loaded_at is not None
    # Not in the audit trail: every migrate of every test database would write it, and it changes
    # nothing production serves. What does (a draft's content replaced, a status) is audited below.
    assert sign_off_entries() == []


def test_loading_again_changes_nothing(draft):
    signoff.sync_content_files()
    assert list(ChecklistVersion.objects.values_list("pk", flat=True)) == [draft.pk]
    assert sign_off_entries() == []


def test_a_draft_whose_file_changed_takes_the_new_content_audited(draft, monkeypatch):
    edited = {**content.current(), "title": "Edited before review"}
    monkeypatch.setattr(signoff, "content_files", lambda: [("bls-aed-v2.json", edited)])

    signoff.sync_content_files()

    draft.refresh_from_db()
    assert draft.content["title"] == "Edited before review"
    [entry] = sign_off_entries()
    assert (entry.action, entry.role, entry.detail["content_sha256"]) == ("change", "system", draft.content_sha256)


def test_an_approved_version_is_never_changed_by_its_file(confirmed, oscar, monkeypatch):
    approve(oscar, confirmed)
    edited = {**confirmed_content(), "title": "Edited after approval"}
    monkeypatch.setattr(signoff, "content_files", lambda: [("bls-aed-v2.json", edited)])

    signoff.sync_content_files()

    confirmed.refresh_from_db()
    assert confirmed.content == confirmed_content() and confirmed.status == SignOffStatus.APPROVED


# --- Approving and withdrawing: the clinical safety officer only, audited ---------------------------------


def test_the_clinical_safety_officer_approves_recording_the_reviewer_and_date(confirmed, oscar):
    approve(oscar, confirmed, reviewed_on=last_week())

    confirmed.refresh_from_db()
    assert confirmed.status == SignOffStatus.APPROVED
    assert (confirmed.reviewer_name, confirmed.reviewer_role, confirmed.reviewer_registration) == tuple(REVIEW.values())
    assert confirmed.reviewed_on == last_week()
    assert confirmed.status_changed_by == oscar
    [entry] = sign_off_entries()
    assert (entry.actor, entry.role, entry.action) == (oscar, "clinical_safety_officer", "change")
    assert entry.detail["from_status"] == "draft" and entry.detail["status"] == "approved"
    assert entry.detail["reviewer_name"] == "Dr Priya Shah" and entry.detail["reviewed_on"] == last_week().isoformat()
    assert entry.detail["content_sha256"] == confirmed.content_sha256


def test_the_registration_is_optional(confirmed, oscar):
    approve(oscar, confirmed, reviewer_registration="")
    confirmed.refresh_from_db()
    assert confirmed.status == SignOffStatus.APPROVED and confirmed.reviewer_registration == ""


def test_a_version_still_carrying_the_placeholder_is_not_approved_and_the_refusal_says_where(draft, oscar):
    assert content.PLACEHOLDER_MARKER in str(draft.content["variants"]["infant"]), "the shipped 2.1 carries it"

    with pytest.raises(InvalidInput) as refused:
        approve(oscar, draft)

    assert set(refused.value.fields) == {"content"}
    [message] = refused.value.fields["content"]
    assert message == refused.value.message
    assert "Checklist 2.1 cannot be approved" in message and content.PLACEHOLDER_MARKER in message
    where = 'Infant checklist, step "Start chest compressions" (variants.infant.steps.compressions.instruction)'
    assert where in message
    draft.refresh_from_db()
    assert (draft.status, draft.reviewer_name, draft.reviewed_on) == (SignOffStatus.DRAFT, "", None)
    assert sign_off_entries() == []


def test_the_placeholder_is_found_in_any_text_of_the_content_whatever_its_case(confirmed, oscar):
    edited = confirmed_content()
    edited["variants"]["adult"]["pads"]["text"] += " Awaiting clinical confirmation."
    ChecklistVersion.objects.filter(pk=confirmed.pk).update(content=edited)

    with pytest.raises(InvalidInput) as refused:
        approve(oscar, confirmed)

    assert "Adult checklist (variants.adult.pads.text)" in refused.value.message
    assert "infant" not in refused.value.message, "the confirmed step is not named"
    assert ChecklistVersion.objects.get(pk=confirmed.pk).status == SignOffStatus.DRAFT


def test_the_items_for_review_may_name_the_placeholder_without_holding_up_the_approval(confirmed):
    questions = [item["question"] for item in confirmed.content["clinical_review"]["items"]]
    assert any(content.PLACEHOLDER_MARKER in question for question in questions)
    assert content.placeholders(confirmed.content) == []


def test_once_the_placeholder_is_replaced_the_version_is_approved(confirmed, oscar):
    approve(oscar, confirmed)
    confirmed.refresh_from_db()
    assert confirmed.status == SignOffStatus.APPROVED
    assert signoff.served_version() == confirmed


@pytest.mark.parametrize("who", ["carol", "admin", "alice"])
def test_nobody_else_may_approve_not_even_a_superuser(draft, who, carol, alice):
    actor = {
        "carol": carol,
        "alice": alice.user,
        "admin": get_user_model().objects.create_superuser(username="root", password="x"),
    }[who]

    with pytest.raises(NotAllowed):
        approve(actor, draft)
    with pytest.raises(NotAllowed):
        signoff.withdraw_version(actor=actor, version_id=draft.pk, reason="No.")

    draft.refresh_from_db()
    assert draft.status == SignOffStatus.DRAFT
    assert sign_off_entries() == []


def test_a_member_of_the_group_who_was_deactivated_may_not_approve(draft, oscar):
    oscar.is_active = False
    oscar.save()
    with pytest.raises(NotAllowed):
        approve(oscar, draft)


def test_an_approval_names_the_reviewer_their_role_and_a_date_not_in_the_future(confirmed, oscar):
    with pytest.raises(InvalidInput) as refused:
        approve(
            oscar,
            confirmed,
            reviewer_name=" ",
            reviewer_role="",
            reviewed_on=timezone.localdate() + datetime.timedelta(days=1),
        )
    assert set(refused.value.fields) == {"reviewer_name", "reviewer_role", "reviewed_on"}
    assert ChecklistVersion.objects.get(pk=confirmed.pk).status == SignOffStatus.DRAFT


@pytest.mark.parametrize("days_before_loading", [1, None])
def test_a_review_dated_before_the_version_was_loaded_is_refused(confirmed, oscar, days_before_loading):
    loaded_on = timezone.localdate(confirmed.loaded_at)
    reviewed_on = (
        datetime.date(1999, 1, 1)
        if days_before_loading is None
        else loaded_on - datetime.timedelta(days=days_before_loading)
    )

    with pytest.raises(InvalidInput) as refused:
        approve(oscar, confirmed, reviewed_on=reviewed_on)

    assert refused.value.fields == {
        "reviewed_on": [
            f"The review cannot be before checklist 2.1 was loaded ({loaded_on.isoformat()}): give the date the "
            "clinician reviewed this content."
        ]
    }
    assert ChecklistVersion.objects.get(pk=confirmed.pk).status == SignOffStatus.DRAFT
    assert sign_off_entries() == []


def test_a_review_on_the_day_the_version_was_loaded_is_accepted(confirmed, oscar):
    approve(oscar, confirmed, reviewed_on=timezone.localdate(confirmed.loaded_at))
    assert ChecklistVersion.objects.get(pk=confirmed.pk).status == SignOffStatus.APPROVED


def test_withdrawing_needs_a_reason_and_is_audited(confirmed, oscar):
    approve(oscar, confirmed)
    with pytest.raises(InvalidInput) as refused:
        signoff.withdraw_version(actor=oscar, version_id=confirmed.pk, reason="  ")
    assert set(refused.value.fields) == {"reason"}

    signoff.withdraw_version(actor=oscar, version_id=confirmed.pk, reason="Infant technique wrong.")

    confirmed.refresh_from_db()
    assert confirmed.status == SignOffStatus.WITHDRAWN and confirmed.status_reason == "Infant technique wrong."
    assert [entry.detail["status"] for entry in sign_off_entries()] == ["approved", "withdrawn"]


def test_a_withdrawn_version_cannot_be_approved_again(draft, oscar):
    signoff.withdraw_version(actor=oscar, version_id=draft.pk, reason="Superseded.")
    with pytest.raises(Conflict):
        approve(oscar, draft)


def test_the_clinical_safety_officer_role_holds_the_approval_and_the_second_factor(oscar):
    permissions = set(
        Group.objects.get(name=roles.CLINICAL_SAFETY_OFFICERS).permissions.values_list("codename", flat=True)
    )
    assert {"approve_checklistversion", "view_checklistversion"} <= permissions
    assert roles.role_of(oscar) == "clinical_safety_officer"
    assert roles.is_privileged(oscar)


# --- What phones are served ---------------------------------------------------------------------------


def test_production_serves_no_draft(draft, alice, production):
    assert signoff.served_version() is None
    response = client_for(alice.user).get("/api/v1/checklist/")
    assert_error(response, 503, "no_approved_checklist")
    assert "clinical safety officer" in response.json()["error"]["message"]


def test_production_serves_the_approved_version_with_its_sign_off(confirmed, oscar, alice, production):
    approve(oscar, confirmed, reviewed_on=last_week())

    response = client_for(alice.user).get("/api/v1/checklist/")

    assert response.status_code == 200
    body = response.json()
    assert_matches("checklist", body)
    assert body["sign_off"] == {
        "status": "approved",
        "approved": True,
        "reviewer": {
            "name": REVIEW["reviewer_name"],
            "role": REVIEW["reviewer_role"],
            "registration": REVIEW["reviewer_registration"],
        },
        "reviewed_on": last_week().isoformat(),
    }
    assert {key: value for key, value in body.items() if key != "sign_off"} == confirmed.content


def test_production_serves_the_newest_approved_version_not_a_newer_draft(confirmed, oscar, production):
    approve(oscar, confirmed)
    newer = ChecklistVersion.objects.create(
        version="2.10", source_file="x.json", content={}, content_sha256="0" * 64, loaded_at=timezone.now()
    )
    assert signoff.served_version() == confirmed
    production.PRODUCTION = False
    assert signoff.served_version() == newer, "2.10 is newer than 2.1"


def test_production_serves_the_content_as_approved_even_if_the_file_changed_since(confirmed, oscar, production):
    approve(oscar, confirmed)
    ChecklistVersion.objects.filter(pk=confirmed.pk).update(content={**confirmed.content, "title": "As approved"})
    assert signoff.served_checklist()["title"] == "As approved"


def test_development_serves_the_draft_marked_not_approved(draft, alice, settings):
    settings.PRODUCTION = False

    body = client_for(alice.user).get("/api/v1/checklist/").json()

    assert_matches("checklist", body)
    assert body["version"] == draft.version
    assert body["sign_off"] == {"status": "draft", "approved": False, "reviewer": None, "reviewed_on": None}


def test_a_withdrawn_version_is_served_nowhere(draft, oscar, settings):
    signoff.withdraw_version(actor=oscar, version_id=draft.pk, reason="Wrong.")
    settings.PRODUCTION = False
    assert signoff.served_version() is None


# --- The deployment check -----------------------------------------------------------------------------


def check_ids(problems) -> list[str]:
    return [problem.id for problem in problems]


def test_check_deploy_refuses_a_draft_in_production(draft, production):
    assert check_ids(checks.approved_checklist(databases=["default"])) == ["coresponder.E051"]
    with pytest.raises(SystemCheckError, match=r"coresponder\.E051"):
        call_command("check", "--deploy", "--tag", "database", "--database", "default")


def test_check_deploy_passes_once_a_version_is_approved(confirmed, oscar, production):
    approve(oscar, confirmed)
    assert checks.approved_checklist(databases=["default"]) == []
    call_command("check", "--deploy", "--tag", "database", "--database", "default")


def test_in_development_a_draft_is_only_a_warning(draft, settings):
    settings.PRODUCTION = False
    assert check_ids(checks.approved_checklist(databases=["default"])) == ["coresponder.W051"]


def test_without_a_database_it_says_it_did_not_check(production):
    [problem] = checks.approved_checklist(databases=None)
    assert problem.id == "coresponder.I051" and not problem.is_serious()


def test_an_approved_file_edited_without_a_new_version_fails_the_check(confirmed, oscar, production):
    approve(oscar, confirmed)
    ChecklistVersion.objects.filter(pk=confirmed.pk).update(content_sha256="0" * 64)
    assert check_ids(checks.approved_checklist(databases=["default"])) == ["coresponder.E052"]


# --- The admin ------------------------------------------------------------------------------------------


def test_the_clinical_safety_officer_approves_in_the_admin(confirmed, oscar):
    client = admin_client_for(oscar)
    url = reverse("admin:checklists_checklistversion_approve", args=[confirmed.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "infant_compression_technique" in page.content.decode(), "the items for review are on the page"
    shown = html.unescape(page.content.decode())
    for variant in confirmed.content["variants"].values():
        assert all(step["instruction"] in shown for step in variant["steps"]), "every step, as the crew reads it"
    notice = confirmed.content["notices"]["call_ended_on_scene"]
    assert notice["text"] in shown and notice["reference"] in shown, "the notices too, with what they rest on"
    assert "cancelled, stood_down" in shown

    response = client.post(url, {**REVIEW, "reviewed_on": timezone.localdate().isoformat()})

    assert response.status_code == 302
    confirmed.refresh_from_db()
    assert confirmed.status == SignOffStatus.APPROVED and confirmed.reviewer_name == "Dr Priya Shah"
    [entry] = sign_off_entries()
    assert (entry.actor, entry.channel) == (oscar, "admin")


def test_the_admin_refuses_content_with_the_placeholder_and_keeps_what_was_typed(draft, oscar):
    client = admin_client_for(oscar)
    url = reverse("admin:checklists_checklistversion_approve", args=[draft.pk])

    response = client.post(url, {**REVIEW, "reviewed_on": timezone.localdate().isoformat()})

    assert response.status_code == 200
    [error] = response.context["form"].non_field_errors()
    assert content.PLACEHOLDER_MARKER in error and 'step "Start chest compressions"' in error
    page = html.unescape(response.content.decode())
    assert '<div class="errornote">' in page and "Checklist 2.1 cannot be approved" in page
    assert 'value="Dr Priya Shah"' in page, "what the officer typed is kept"
    assert ChecklistVersion.objects.get(pk=draft.pk).status == SignOffStatus.DRAFT
    assert sign_off_entries() == []


def test_the_admin_names_a_review_date_before_the_version_was_loaded(confirmed, oscar):
    client = admin_client_for(oscar)
    url = reverse("admin:checklists_checklistversion_approve", args=[confirmed.pk])
    response = client.post(url, {**REVIEW, "reviewed_on": "1999-01-01"})
    assert response.status_code == 200
    assert "before checklist 2.1 was loaded" in response.context["form"].errors["reviewed_on"][0]
    assert ChecklistVersion.objects.get(pk=confirmed.pk).status == SignOffStatus.DRAFT


def test_the_admin_form_names_the_missing_field(confirmed, oscar):
    client = admin_client_for(oscar)
    url = reverse("admin:checklists_checklistversion_approve", args=[confirmed.pk])
    response = client.post(url, {**REVIEW, "reviewer_name": "", "reviewed_on": timezone.localdate().isoformat()})
    assert response.status_code == 200 and "reviewer_name" in response.context["form"].errors
    assert ChecklistVersion.objects.get(pk=confirmed.pk).status == SignOffStatus.DRAFT


def test_a_coordinator_sees_the_versions_but_cannot_approve_or_withdraw(draft, carol):
    client = admin_client_for(carol)
    assert client.get(reverse("admin:checklists_checklistversion_changelist")).status_code == 200
    assert client.get(reverse("admin:checklists_checklistversion_change", args=[draft.pk])).status_code == 200
    for name in ("approve", "withdraw"):
        url = reverse(f"admin:checklists_checklistversion_{name}", args=[draft.pk])
        assert client.get(url).status_code == 403
        assert client.post(url, {**REVIEW, "reviewed_on": "2026-11-30", "reason": "x"}).status_code == 403
    assert ChecklistVersion.objects.get(pk=draft.pk).status == SignOffStatus.DRAFT


def test_a_superuser_outside_the_group_cannot_approve_in_the_admin(draft):
    root = get_user_model().objects.create_superuser(username="root", password="x")
    client = admin_client_for(root)
    url = reverse("admin:checklists_checklistversion_approve", args=[draft.pk])
    assert client.post(url, {**REVIEW, "reviewed_on": "2026-11-30"}).status_code == 403


def test_nobody_edits_a_version_in_the_admin_directly(draft, oscar):
    client = admin_client_for(oscar)
    change = reverse("admin:checklists_checklistversion_change", args=[draft.pk])
    assert client.post(change, {"status": "approved"}).status_code == 403
    assert client.get(reverse("admin:checklists_checklistversion_add")).status_code == 403
    assert ChecklistVersion.objects.get(pk=draft.pk).status == SignOffStatus.DRAFT
