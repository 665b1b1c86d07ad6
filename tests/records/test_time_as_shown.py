"""A time re-entered exactly as the phone's time box shows another is not "before" it. The box
(datetime-local, step 1: pwa/app/views/record-form.js) shows seconds, never milliseconds, and a
tapped time (the on-scene answer, the checklist) carries them: "Left scene" typed as 17:49:17
beside an on-scene time of 17:49:17.412 was refused "Left scene (… 17:49:17) cannot be before on
scene (… 17:49:17)". Times are compared to the second (to the minute when either has no seconds),
as the app does (tests/js/form-time-as-shown.test.mjs); an earlier second is still refused."""

import datetime

import pytest

from backend.errors import InvalidInput
from backend.records.models import Attendance
from tests.records.conftest import ago, submit, valid_outcome


def as_the_box_shows_it(value: datetime.datetime) -> str:
    """The time typed into the phone's box as it shows `value`: to the second, sent as
    `Date.toISOString()` does (milliseconds 0)."""
    return value.astimezone(datetime.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def tapped():
    return ago(minutes=20).replace(second=17, microsecond=412000)


def test_left_scene_typed_as_the_box_shows_on_scene_is_accepted(alice_alert, tapped):
    record, created = submit(
        alice_alert,
        attended=True,
        mobile_at=(tapped - datetime.timedelta(minutes=6)).isoformat(),
        on_scene_at=tapped.isoformat(),
        left_scene_at=as_the_box_shows_it(tapped),
    )

    assert created
    assert record.left_scene_at < record.on_scene_at  # stored as typed: milliseconds apart


def test_the_same_in_the_outcome_form(erin_alert, tapped):
    times = {"crew_arrived_at": tapped.isoformat(), "cpr_started_at": as_the_box_shows_it(tapped)}
    outcome, created = submit(erin_alert, "outcome", **valid_outcome(**times))
    assert created
    assert outcome.cpr_started_at < outcome.crew_arrived_at  # stored as typed: milliseconds apart


def test_a_second_before_as_the_box_shows_it_is_still_refused_on_left_scene(alice_alert, tapped):
    with pytest.raises(InvalidInput) as refused:
        submit(
            alice_alert,
            attended=True,
            on_scene_at=tapped.isoformat(),
            left_scene_at=as_the_box_shows_it(tapped - datetime.timedelta(seconds=1)),
        )

    assert list(refused.value.fields) == ["left_scene_at"]
    assert "cannot be before on scene (" in refused.value.fields["left_scene_at"][0]
    assert not Attendance.objects.exists()
