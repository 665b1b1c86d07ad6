"""The incident page's buttons (Dispatch, Alert a named responder…, Stand down, Close, Cancel…, Live
board, History) never cover its heading, in the light and the dark theme, on a narrow, a laptop and
a wide screen. Found by a browser trial: the admin floats its object tools up beside the title, and
with this page's seven buttons they lay across the incident's CAD reference; and at 1024 px or
less the float squeezed the form's first rows to nothing beside it."""

import uuid

import pytest
import requests

from tests.e2e.helpers import log_in, pass_the_second_factor, watch_for_problems

LIST_PAGE = "/admin/dispatch/incident/"
# Not dispatched: nobody is alerted, so no other browser test's firefighters are disturbed.
NEAR_CROMER = (52.9310, 1.3010)
WIDTHS = [800, 1280, 1440, 1920]


@pytest.fixture(scope="module")
def incident(control):
    response = requests.post(
        f"{control.server.url}/api/v1/incidents/",
        json={
            "cad_reference": f"LAYOUT-{uuid.uuid4().hex[:6].upper()}",
            "latitude": NEAR_CROMER[0],
            "longitude": NEAR_CROMER[1],
            "address": "1 Church Street, Cromer",
        },
        headers={"Authorization": f"Token {control.cad_token}"},
        timeout=10,
    )
    assert response.status_code == 201, f"creating: {response.status_code} {response.text}"
    created = response.json()
    control._references.append(created["id"])
    yield created
    control.cancel_open_incidents()


def box_of(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not shown"
    return box


def text_box_of(locator) -> dict:
    """Where a heading's words are (its own box spans the page's width, beside the words too)."""
    return locator.evaluate(
        """(element) => {
            const range = document.createRange();
            range.selectNodeContents(element);
            const {x, y, width, height} = range.getBoundingClientRect();
            return {x: x + scrollX, y: y + scrollY, width, height};
        }"""
    )


def overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("width", WIDTHS)
def test_the_incident_pages_buttons_never_cover_its_heading_or_each_other(chromium, server, incident, width, theme):
    context = chromium.new_context(
        base_url=server.url, viewport={"width": width, "height": 900}, locale="en-GB", color_scheme=theme
    )
    context.set_default_timeout(10_000)
    try:
        log_in(context, "coordinator")
        assert pass_the_second_factor(context, server) == []
        page = context.new_page()
        problems = watch_for_problems(page)
        page.goto(f"{LIST_PAGE}{incident['id']}/change/")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("getComputedStyle(document.documentElement).colorScheme").startswith(theme)

        title = text_box_of(page.locator("#content > h1"))
        reference = text_box_of(page.locator("#content > h2", has_text=incident["cad_reference"]))
        first_fieldset = box_of(page.locator("#content-main form fieldset").first)
        tools = page.locator("#content-main .object-tools > li")
        assert tools.count() >= 6, "the page's buttons: dispatch, named, stand down, close, cancel, board, history"
        boxes = [(tools.nth(i).inner_text().strip(), box_of(tools.nth(i))) for i in range(tools.count())]
        content = box_of(page.locator("#content"))

        for name, box in boxes:
            where = f"{width}px {theme}: {name!r} at {box}"
            assert not overlap(box, title), f"{where} covers the title at {title}"
            assert not overlap(box, reference), f"{where} covers the CAD reference at {reference}"
            assert not overlap(box, first_fieldset), f"{where} covers the form"
            assert box["x"] >= content["x"] - 1 and box["x"] + box["width"] <= content["x"] + content["width"] + 1, (
                f"{width}px {theme}: {name!r} runs out of the page {box} {content}"
            )
        main = box_of(page.locator("#content-main"))
        rows = page.locator("#content-main form fieldset").first.locator(".form-row")
        for i in range(min(rows.count(), 4)):
            row = box_of(rows.nth(i))
            assert row["width"] >= 0.9 * main["width"], f"{width}px {theme}: form row {i} squeezed to {row['width']}px"
        for i, (name, box) in enumerate(boxes):
            for other, other_box in boxes[i + 1 :]:
                assert not overlap(box, other_box), f"{width}px {theme}: {name!r} and {other!r} overlap"
        assert problems == []
    finally:
        context.close()
