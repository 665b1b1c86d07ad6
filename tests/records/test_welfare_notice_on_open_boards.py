"""Trial 12: the notice of welfare follow-up requests not reaching the welfare leads (backend/records/
notices.py) was worked out only as a page loaded: a board open before a request stopped getting
through never said so (131 s later), and one open when it got through again would have gone on
saying it. The boards' socket now carries it: in the snapshot, and a `board.welfare` frame when it
appears, changes or clears, worded for the coordinator who watches (the link only for one who may
read welfare check-ins), and nothing of any check-in."""

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group

from backend.records import notify
from backend.roles import WELFARE_LEADS
from tests.realtime.sockets import connect, receive_frame
from tests.records.conftest import submit
from tests.records.test_welfare import later, run_the_worker

pytestmark = pytest.mark.django_db(transaction=True)

BOARD = "/ws/coordinator/"
NOTES = "Cannot stop thinking about it."
HEADLINE = "1 welfare follow-up request not reaching the welfare leads."


def ask_for_a_follow_up(alert) -> None:
    submit(alert, "welfare", impact=5, follow_up="welfare", notes=NOTES)


async def open_board(user):
    socket = await connect(BOARD, user)
    snapshot = await receive_frame(socket)
    assert snapshot["type"] == "board.snapshot"
    return socket, snapshot["data"]["welfare_notice"]


async def test_an_open_board_shows_the_notice_when_a_request_stops_getting_through_and_clears_it_after(
    alice_alert, carol, wendy, settings
):
    settings.BOARD_WELFARE_CHECK_SECONDS = 0.05
    socket, notice = await open_board(carol)
    assert notice is None

    # No welfare lead has an address: the worker's pass finds nobody to tell.
    await sync_to_async(ask_for_a_follow_up)(alice_alert)
    await sync_to_async(run_the_worker)()
    frame = await receive_frame(socket, timeout=5)
    assert frame["type"] == "board.welfare"
    shown = frame["data"]["notice"]
    assert shown["count"] == 1 and shown["headline"] == HEADLINE
    assert shown["detail"] == (
        "No active welfare lead has an email address: give one an address. Only a welfare lead may read them: tell one."
    )
    assert shown["url"] == ""  # a coordinator may not read them
    text = str(frame)
    assert NOTES not in text and alice_alert.responder.display_name not in text
    assert alice_alert.incident.cad_reference not in text

    # Said once, not again while nothing changes.
    assert await socket.receive_nothing(timeout=0.3, interval=0.05)

    # The welfare lead is given an address and the worker emails them: the notice clears.
    wendy.email = "wendy@example.org"
    await sync_to_async(wendy.save)()
    assert await sync_to_async(run_the_worker)(now=later(notify.RETRY_MAX_SECONDS + 1)) == 1
    cleared = await receive_frame(socket, timeout=5)
    assert cleared == {**cleared, "type": "board.welfare", "data": {"notice": None}}
    await socket.disconnect()


async def test_the_snapshot_carries_it_with_the_link_only_for_one_who_may_read_them(alice_alert, carol, settings):
    await sync_to_async(ask_for_a_follow_up)(alice_alert)
    await sync_to_async(run_the_worker)()

    socket, notice = await open_board(carol)
    assert notice["headline"] == HEADLINE and notice["url"] == ""
    await socket.disconnect()

    # A coordinator who is a welfare lead too is given the list of them.
    await sync_to_async(lambda: carol.groups.add(Group.objects.get(name=WELFARE_LEADS)))()
    socket, notice = await open_board(carol)
    assert notice["url"] == "/admin/records/welfarecheckin/?welfare_emails=undelivered"
    assert "Only a welfare lead" not in notice["detail"]
    await socket.disconnect()
