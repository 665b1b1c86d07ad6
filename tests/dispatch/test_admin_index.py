"""The admin's home page leads a coordinator to the live board; others do not see the link."""

from django.urls import reverse

from tests.conftest import admin_client_for

BOARD = "admin:dispatch_incident_board"


def test_the_admin_home_page_links_to_the_live_board(carol):
    content = admin_client_for(carol).get(reverse("admin:index")).content.decode()

    assert f'<a href="{reverse(BOARD)}" class="section"' in content
    assert "Live board" in content
    assert admin_client_for(carol).get(reverse(BOARD)).status_code == 200


def test_a_welfare_lead_who_cannot_watch_the_board_is_not_offered_it(wendy):
    content = admin_client_for(wendy).get(reverse("admin:index")).content.decode()

    assert reverse(BOARD) not in content
