"""A staff password alone opens nothing: the API and the coordinators' socket refuse a staff
session that has not passed the second factor, as the admin does. Firefighters and machine
clients are not asked for one."""

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from backend.accounts.second_factor import STAFF_NEED_SECOND_FACTOR
from backend.roles import COORDINATORS, WELFARE_LEADS
from backend.sockets.consumers import CloseCode
from tests.conftest import pass_second_factor, token_client_for
from tests.realtime.sockets import FRAME_TIMEOUT_S, assert_closed_with, communicator, receive_frame


def password_only_session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def cookie_of(client: Client) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@pytest.mark.django_db
@pytest.mark.parametrize("person", ["carol", "wendy"])
def test_the_api_refuses_a_staff_session_without_the_second_factor(request, person):
    user = request.getfixturevalue(person)

    response = password_only_session(user).get("/api/v1/incidents/")

    assert response.status_code in (401, 403)
    assert response.json() == {
        "error": {"code": "authentication_failed", "message": STAFF_NEED_SECOND_FACTOR, "fields": {}}
    }


@pytest.mark.django_db
def test_the_api_serves_a_staff_session_past_the_second_factor(carol):
    client = password_only_session(carol)
    pass_second_factor(client, carol)

    assert client.get("/api/v1/incidents/").status_code == 200


@pytest.mark.django_db
def test_a_device_of_someone_else_does_not_count(carol, wendy):
    client = password_only_session(carol)
    wendys = TOTPDevice.objects.create(user=wendy, name="Wendy's phone", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = wendys.persistent_id
    session.save()

    assert client.get("/api/v1/incidents/").status_code in (401, 403)


@pytest.mark.django_db
def test_an_unconfirmed_device_does_not_count(carol):
    client = password_only_session(carol)
    unconfirmed = TOTPDevice.objects.create(user=carol, name="Half enrolled", confirmed=False)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = unconfirmed.persistent_id
    session.save()

    assert client.get("/api/v1/incidents/").status_code in (401, 403)


@pytest.mark.django_db
def test_firefighters_and_machine_clients_need_no_second_factor(alice, cad):
    assert password_only_session(alice.user).get("/api/v1/me/").status_code == 200
    assert token_client_for(cad).get("/api/v1/incidents/").status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_the_board_socket_refuses_a_staff_session_without_the_second_factor(carol):
    client = await sync_to_async(password_only_session)(carol)
    socket = communicator("/ws/coordinator/", cookie=cookie_of(client))
    connected, _ = await socket.connect(timeout=FRAME_TIMEOUT_S)
    assert connected

    await assert_closed_with(socket, CloseCode.NOT_LOGGED_IN)


@pytest.mark.django_db(transaction=True)
async def test_the_board_socket_serves_a_staff_session_past_the_second_factor(carol):
    client = await sync_to_async(password_only_session)(carol)
    await sync_to_async(pass_second_factor)(client, carol)
    socket = communicator("/ws/coordinator/", cookie=cookie_of(client))
    connected, _ = await socket.connect(timeout=FRAME_TIMEOUT_S)
    assert connected

    assert (await receive_frame(socket))["type"] == "board.snapshot"
    await socket.disconnect()


@pytest.mark.django_db
@pytest.mark.parametrize("group_name", [COORDINATORS, WELFARE_LEADS])
def test_a_role_that_sees_others_data_needs_the_second_factor_without_staff_status(group_name):
    """Someone put in the Coordinators or Welfare leads group without "staff status" ticked is
    still asked for the code: the rule follows what they can see, not the tick box."""
    user = get_user_model().objects.create_user(username="not-ticked", is_staff=False)
    user.groups.add(Group.objects.get(name=group_name))
    client = password_only_session(user)

    assert client.get("/api/v1/welfare-check-ins/").status_code in (401, 403)
    assert client.get("/api/v1/incidents/").status_code in (401, 403)
    pass_second_factor(client, user)
    assert client.get("/api/v1/me/").status_code == 200
