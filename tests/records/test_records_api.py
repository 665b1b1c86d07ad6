"""The records API (contract: docs in /api/schema/): shapes, statuses and error codes."""

import datetime
import uuid

import jsonschema
import pytest
from rest_framework.test import APIClient

from backend.checklists.actions import record_onscene_event
from backend.dispatch.actions import respond_to_alert
from backend.records import payloads
from backend.records.models import Attendance, Outcome
from tests.api.helpers import assert_error
from tests.conftest import client_for
from tests.records.conftest import ago, body, iso, valid_outcome


def assert_shape(schema: dict, data) -> None:
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(
        data
    )


def url(alert, kind="attendance") -> str:
    return f"/api/v1/alerts/{alert.pk}/{kind}/"


def test_an_empty_form_with_its_prefill(alice_alert, alice):
    response = client_for(alice.user).get(url(alice_alert))
    assert response.status_code == 200
    data = response.json()
    assert_shape(payloads.form_schema("attendance"), data)
    assert data == {
        "record": None,
        "prefill": {},  # accepted only: nothing known yet (mobile is setting off, not accepting)
        "editable": True,
        "lock_hours": 72,
        "cad_times": None,
        "outcome_duty": None,
        "own_forms_expected": True,
        "prefill_estimated": [],
    }


def test_submit_retry_and_misuse(alice_alert, alice):
    client = client_for(alice.user)
    submission = body(attended=True, appliance="21P1", on_scene_at=iso(ago(minutes=3)))

    created = client.post(url(alice_alert), submission, format="json")
    assert created.status_code == 201, created.content
    assert_shape(payloads.record_response_schema("attendance"), created.json())
    record = created.json()["record"]
    assert (record["kind"], record["alert_id"], record["version"], record["locked"]) == (
        "attendance",
        alice_alert.pk,
        1,
        False,
    )
    assert record["appliance"] == "21P1" and record["role"] == "" and record["mobile_at"] is None

    retried = client.post(url(alice_alert), submission, format="json")
    assert retried.status_code == 200 and retried.json() == created.json()

    misuse = client.post(url(alice_alert), {**submission, "attended": False}, format="json")
    assert_error(misuse, 409, "idempotency_key_reused", field="idempotency_key")

    other_key = client.post(url(alice_alert), body(attended=False), format="json")
    error = assert_error(other_key, 409, "already_submitted")
    assert error["record"] == created.json()["record"]
    assert Attendance.objects.count() == 1


def test_validation_errors_are_per_field(alice_alert, alice):
    times = {"at_patient_at": iso(ago(minutes=9)), "on_scene_at": iso(ago(minutes=5))}
    bad = body(attended=True, role="boss", notes="x" * 1001, **times)
    response = client_for(alice.user).post(url(alice_alert), bad, format="json")
    error = assert_error(response, 400, "invalid")
    assert error["fields"] == {
        "role": ["Use one of: crew_lead, crew_member, driver."],
        "notes": ["Keep this to 1000 characters (it has 1001)."],
    }
    response = client_for(alice.user).post(
        url(alice_alert), body(attended=True, at_patient_at=iso(ago(minutes=9)), on_scene_at=iso(ago(minutes=5))),
        format="json",
    )  # fmt: skip
    assert list(assert_error(response, 400, "invalid")["fields"]) == ["at_patient_at"]


@pytest.mark.parametrize(
    ("submission", "field"),
    [
        ({"attended": True}, "idempotency_key"),
        ({"idempotency_key": "not-a-uuid", "attended": True}, "idempotency_key"),
        ({"idempotency_key": 12, "attended": True}, "idempotency_key"),
    ],
)
def test_the_key_is_required_and_must_be_a_uuid(alice_alert, alice, submission, field):
    assert_error(client_for(alice.user).post(url(alice_alert), submission, format="json"), 400, "invalid", field=field)


def test_a_body_that_is_not_an_object_is_refused(alice_alert, alice):
    assert_error(client_for(alice.user).post(url(alice_alert), [1, 2], format="json"), 400, "invalid")


def test_a_form_for_an_incident_i_did_not_attend_is_not_found(alerts, alice_alert, alice, dave, charlie):
    # alice's accepted alert, asked for by others; and an alert alice never accepted
    for user in (dave.user, charlie.user):
        assert_error(client_for(user).get(url(alice_alert)), 404, "not_found")
        assert_error(client_for(user).post(url(alice_alert), body(attended=True), format="json"), 404)
    bob_unanswered = alerts["bob"]
    assert_error(client_for(alice.user).get(url(bob_unanswered)), 404)
    assert_error(client_for(alerts["bob"].responder.user).get(url(bob_unanswered)), 404)
    assert_error(client_for(alice.user).get("/api/v1/alerts/999999/attendance/"), 404)


def test_anonymous_is_401(alice_alert):
    assert_error(APIClient().get(url(alice_alert)), 401)


def test_a_change_needs_a_reason_and_is_refused_once_locked(alice_alert, alice):
    client = client_for(alice.user)
    client.post(url(alice_alert), body(attended=True), format="json")

    no_reason = client.patch(url(alice_alert), body(appliance="21P1"), format="json")
    assert assert_error(no_reason, 400, "invalid")["fields"] == {"reason": ["Say why you are changing this record."]}

    change = body(appliance="21P1", reason="Forgot it")
    changed = client.patch(url(alice_alert), change, format="json")
    assert changed.status_code == 200 and changed.json()["record"]["version"] == 2
    assert_shape(payloads.record_response_schema("attendance"), changed.json())
    again = client.patch(url(alice_alert), change, format="json")
    assert again.status_code == 200 and again.json() == changed.json()

    Attendance.objects.update(submitted_at=ago(hours=73))
    locked = client.patch(url(alice_alert), body(appliance="21P2", reason="Again"), format="json")
    error = assert_error(locked, 409, "locked")
    assert error["message"] == "This record was locked 72 hours after it was submitted. Ask a coordinator to amend it."
    form = client.get(url(alice_alert)).json()
    assert (form["editable"], form["record"]["locked"]) == (False, True)


def test_the_outcome_by_a_crew_member_who_is_not_the_lead_is_403(alice_alert, alice):
    response = client_for(alice.user).post(url(alice_alert, "outcome"), body(**valid_outcome()), format="json")
    assert assert_error(response, 403)["message"] == (
        "Nobody of your crew is recorded as attending, so your crew owes no outcome form."
    )


def test_the_outcome_by_the_crew_lead(erin_alert, alice_alert, erin, alice):
    response = client_for(erin.user).post(
        url(erin_alert, "outcome"), body(**valid_outcome(crew=[erin.pk, alice.pk])), format="json"
    )
    assert response.status_code == 201, response.content
    assert_shape(payloads.record_response_schema("outcome"), response.json())
    record = response.json()["record"]
    assert (record["incident_id"], record["station_id"]) == (erin_alert.incident_id, erin.station_id)
    assert record["crew"] == sorted([erin.pk, alice.pk])
    seen_by_alice = client_for(alice.user).get(url(alice_alert, "outcome")).json()
    assert seen_by_alice["record"] == record and seen_by_alice["editable"] is False
    assert_shape(payloads.form_schema("outcome"), seen_by_alice)


def test_a_coordinator_amends_through_the_api(alice_alert, alice, carol, erin_alert, erin):
    client_for(alice.user).post(url(alice_alert), body(attended=True), format="json")
    record = Attendance.objects.get()
    amend_url = f"/api/v1/records/attendance/{record.pk}/amend/"

    assert_error(client_for(carol).post(amend_url, body(attended=False), format="json"), 400, field="reason")
    assert_error(client_for(alice.user).post(amend_url, body(attended=False, reason="x"), format="json"), 403)
    response = client_for(carol).post(amend_url, body(attended=False, reason="Rota says off duty"), format="json")
    assert response.status_code == 200 and response.json()["record"]["attended"] is False
    assert_error(
        client_for(carol).post("/api/v1/records/attendance/99999/amend/", body(reason="x"), format="json"), 404
    )

    client_for(erin.user).post(url(erin_alert, "welfare"), body(impact=2), format="json")
    assert_error(client_for(carol).post("/api/v1/records/welfare/1/amend/", body(reason="x"), format="json"), 404)

    client_for(erin.user).post(url(erin_alert, "outcome"), body(**valid_outcome()), format="json")
    outcome = Outcome.objects.get()
    response = client_for(carol).post(
        f"/api/v1/records/outcome/{outcome.pk}/amend/", body(sex="male", reason="Crew lead's correction"), format="json"
    )
    assert response.status_code == 200 and response.json()["record"]["sex"] == "male"


def test_my_records_list_the_alerts_i_accepted_in_the_last_30_days(alerts, alice_alert, alice, erin_alert, erin):
    client_for(erin.user).post(url(erin_alert, "outcome"), body(**valid_outcome()), format="json")
    client_for(alice.user).post(url(alice_alert, "welfare"), body(impact=2), format="json")
    response = client_for(alice.user).get("/api/v1/records/")
    assert response.status_code == 200
    assert_shape(payloads.my_records_schema(), response.json())
    [item] = response.json()["results"]
    outcome = Outcome.objects.get()
    assert item["alert_id"] == alice_alert.pk and item["cad_reference"] == "EEAST-0001"
    assert item["attendance"] is None
    assert item["outcome"] == {"id": outcome.pk, "version": 1, "locked": False}
    assert item["welfare"]["version"] == 1 and item["is_crew_lead"] is False

    type(alice_alert).objects.filter(pk=alice_alert.pk).update(alerted_at=ago(days=31))
    assert client_for(alice.user).get("/api/v1/records/").json() == {"results": []}


def test_an_outcome_is_owed_only_by_a_crew_someone_of_which_attended(alice_alert, alice, erin_alert, erin):
    """Found by trying the product: a crew lead whose crew was stood down on the way was shown the
    outcome "Not started" for good. On scene, or the checklist used on scene, makes it owed."""

    def owed(user) -> bool:
        [item] = client_for(user).get("/api/v1/records/").json()["results"]
        return item["outcome_expected"]

    assert (owed(erin.user), owed(alice.user)) == (False, False)  # accepted, nobody there yet
    record_onscene_event(
        actor=alice.user,
        alert_id=alice_alert.pk,
        idempotency_key=uuid.uuid4(),
        type="arrived",
        occurred_at=ago(minutes=1),
    )
    assert (owed(erin.user), owed(alice.user)) == (True, True)  # the crew's, whoever of it was there


def test_being_on_scene_makes_the_outcome_owed(alice_alert, alice, erin_alert, erin):
    respond_to_alert(actor=erin.user, alert_id=erin_alert.pk, response="on_scene")
    [item] = client_for(erin.user).get("/api/v1/records/").json()["results"]
    assert item["outcome_expected"] is True


def test_the_schema_describes_the_new_endpoints():
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    operations = {
        operation["operationId"]
        for path in response.json()["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for kind in ("attendance", "outcome", "welfare"):
        assert {f"records_{kind}_get", f"records_{kind}_submit", f"records_{kind}_change"} <= operations
    assert {"records_attendance_amend", "records_outcome_amend", "records_mine", "welfare_check_ins_list"} <= operations


def test_times_come_back_with_their_offset(alice_alert, alice):
    when = (ago(minutes=4)).astimezone(datetime.timezone(datetime.timedelta(hours=1)))
    response = client_for(alice.user).post(
        url(alice_alert), body(attended=True, on_scene_at=when.isoformat()), format="json"
    )
    stored = datetime.datetime.fromisoformat(response.json()["record"]["on_scene_at"])
    assert stored == when and stored.utcoffset() is not None


def test_a_retry_key_is_not_a_new_uuid_every_time(alice_alert, alice):
    key = uuid.uuid4()
    client = client_for(alice.user)
    first = client.post(url(alice_alert), body(key, attended=True), format="json")
    second = client.post(url(alice_alert), body(key, attended=True), format="json")
    assert (first.status_code, second.status_code) == (201, 200)
