"""The readiness page in the admin (/admin/readiness/): who may see it, what it says of each
responder and their phones (in words, never the number for texts), the counts per station, the
filters, the audit entry for each showing, and the links to it from the admin's home page and the
board."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from backend.audit.models import AuditAction, AuditEntry
from backend.delivery.models import PushDevice
from tests.conftest import admin_client_for
from tests.delivery.test_readiness_queries import device_of

URL = "/admin/readiness/"
DAY = datetime.timedelta(days=1)
ALICES_NUMBER = "+447700900123"


@pytest.fixture
def crews(alice, bob, charlie, dave):
    """alice: a proven Android phone, installed, allowed, and a number for texts. bob: an iPhone
    that failed two checks, never proven, notifications blocked. charlie: a text number only.
    dave: off call, nothing."""
    now = timezone.now()
    device_of(
        alice,
        "Work phone",
        platform="android",
        installed=True,
        permission="granted",
        last_proven_at=now - 2 * DAY,
    )
    alice.phone_number = ALICES_NUMBER
    alice.save()
    device_of(
        bob,
        "iPhone",
        platform="ios",
        installed=False,
        permission="denied",
        last_failure_at=now - DAY,
        last_failure_reason="no receipt within 2 minutes",
        failed_checks_in_a_row=2,
    )
    charlie.phone_number = "+447700900456"
    charlie.save()
    dave.on_call = False
    dave.save()


def row_of(page: str, name: str) -> str:
    match = re.search(rf'<tr class="readiness-responder[^"]*">\s*<th scope="row">{name}</th>.*?</tr>', page, re.S)
    assert match, f"no row for {name}"
    return match.group(0)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_a_coordinator_sees_each_responder_their_phones_and_what_reaches_them(crews, carol):
    response = admin_client_for(carol).get(URL)
    assert response.status_code == 200
    page = response.content.decode()

    alice = text_of(row_of(page, "Alice"))
    assert "Norwich" in alice and "On call" in alice
    assert "Work phone : Android · Installed app · notifications allowed" in alice
    assert "Proven 2 days ago" in alice
    assert "On file" in alice and "Push (a proven phone)" in alice

    bob = text_of(row_of(page, "Bob"))
    assert "iPhone : iPhone or iPad · In the browser, not installed · notifications blocked" in bob
    assert "Never proven" in bob
    assert "Failed twice in a row: no receipt within 2 minutes" in bob
    assert "Number for texts" not in bob and "None" in bob and "Nothing" in bob

    charlie = text_of(row_of(page, "Charlie"))
    assert "No phone registered for alerts" in charlie and "Text only" in charlie
    dave = text_of(row_of(page, "Dave"))
    assert "Off call" in dave and "Nothing" in dave


def test_it_never_shows_a_number_for_texts(crews, carol):
    page = admin_client_for(carol).get(URL).content.decode()
    assert ALICES_NUMBER not in page
    assert "900123" not in page and "900456" not in page


def test_it_counts_per_station_those_on_call(crews, carol):
    page = admin_client_for(carol).get(URL).content.decode()
    counts = re.search(r'<table id="readiness-counts">.*?</table>', page, re.S).group(0)

    def cells(name):
        row = re.search(rf"<th scope=\"row\">{name}</th>.*?</tr>", counts, re.S).group(0)
        return re.findall(r"<td[^>]*>(\d+)</td>", row)

    # Station, responders, on call, proven phone, text only, nothing.
    assert cells("Norwich") == ["2", "2", "1", "0", "1"]
    assert cells("Great Yarmouth") == ["1", "1", "0", "1", "0"]
    assert cells("King&#x27;s Lynn") == ["1", "0", "0", "0", "0"]
    assert cells("All stations") == ["4", "3", "1", "1", "1"]


def test_the_not_proven_filter_and_on_call_only(crews, carol, stations):
    client = admin_client_for(carol)
    page = client.get(URL, {"not_proven": "on"}).content.decode()
    assert "3 responders, with no phone proven in 7 days" in page
    assert 'scope="row">Alice</th>' not in page
    page = client.get(URL, {"not_proven": "on", "on_call": "on"}).content.decode()
    assert "2 responders, on call now, with no phone proven in 7 days" in page
    assert 'scope="row">Dave</th>' not in page and 'scope="row">Bob</th>' in page
    page = client.get(URL, {"station": stations["yarmouth"].pk}).content.decode()
    assert "1 responder at Great Yarmouth" in page
    assert 'scope="row">Charlie</th>' in page and 'scope="row">Bob</th>' not in page


def test_the_filter_names_the_configured_window(crews, carol, settings):
    settings.READINESS_PROVEN_WITHIN_DAYS = 1
    page = admin_client_for(carol).get(URL).content.decode()
    assert "No phone proven in 1 day only" in page
    assert "Not proven since" in text_of(row_of(page, "Alice"))


def test_a_station_that_is_not_one_is_a_clear_error(carol):
    response = admin_client_for(carol).get(URL, {"station": "999999"})
    assert response.status_code == 200
    assert "Choose a station from the list, or All stations." in response.content.decode()
    assert not AuditEntry.objects.filter(object_type="readiness").exists()


def test_each_showing_is_audited_with_its_filters_only(crews, carol, stations):
    admin_client_for(carol).get(URL, {"station": stations["norwich"].pk, "not_proven": "on"})
    [entry] = AuditEntry.objects.filter(object_type="readiness")
    assert entry.action == AuditAction.VIEW
    assert entry.actor == carol
    assert entry.channel == "admin"
    assert entry.detail == {
        "station_id": stations["norwich"].pk,
        "on_call_only": False,
        "not_proven_only": True,
        "page": 1,
    }


def test_responders_are_shown_a_page_at_a_time_and_the_counts_cover_everyone(crews, carol, monkeypatch):
    from backend.delivery import admin_readiness

    monkeypatch.setattr(admin_readiness, "RESPONDERS_PER_PAGE", 3)
    client = admin_client_for(carol)
    first = client.get(URL).content.decode()
    second = client.get(URL, {"page": 2}).content.decode()
    shown = [re.findall(r'"readiness-responder[^"]*">\s*<th scope="row">(\w+)</th>', page) for page in (first, second)]
    assert len(shown[0]) == 3 and len(shown[1]) == 1 and not set(shown[0]) & set(shown[1])
    assert "4 responders" in text_of(first) and "Showing 1\u20133 of 4" in text_of(first)
    assert 'href="?page=2"' in first and "Previous page" in second
    # The station counts are of everyone, whichever page is shown.
    assert re.search(r'id="readiness-counts"', second)
    assert AuditEntry.objects.filter(object_type="readiness").order_by("pk").last().detail["page"] == 2


def test_a_firefighter_is_sent_to_the_login_page(crews, alice):
    client = Client()
    client.force_login(alice.user)
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_an_unauthenticated_visitor_is_sent_to_the_login_page(db):
    response = Client().get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_without_the_permissions_are_refused(crews, wendy):
    assert admin_client_for(wendy).get(URL).status_code == 403
    staff = get_user_model().objects.create_user(username="devices-only", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename="view_pushdevice"))
    assert admin_client_for(staff).get(URL).status_code == 403  # needs accounts.view_responder too
    assert not AuditEntry.objects.filter(object_type="readiness").exists()


def test_a_coordinator_without_the_second_factor_is_not_let_in(carol):
    client = Client()
    client.force_login(carol)
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/" in response["Location"]
    assert not AuditEntry.objects.filter(object_type="readiness").exists()


def test_the_admin_home_and_the_board_link_to_it(carol, wendy):
    home = admin_client_for(carol).get("/admin/").content.decode()
    assert 'href="/admin/readiness/"' in home
    board = admin_client_for(carol).get("/admin/dispatch/incident/board/").content.decode()
    assert 'href="/admin/readiness/?on_call=on&amp;not_proven=on"' in board
    assert "/admin/readiness/" not in admin_client_for(wendy).get("/admin/").content.decode()


def test_the_page_holds_no_inline_script_or_style(crews, carol):
    response = admin_client_for(carol).get(URL)
    page = response.content.decode()
    assert "<script" not in page.split('id="content-main"')[1]
    assert " style=" not in page
    assert PushDevice.objects.count() == 2
