"""The map's labels (pwa/app/map.js) said a responder's arrival estimate in the minutes of when it was
drawn: with no new position they stood still while the words beside the map (the alert screen's, the
crew panel's, the boards' rows: pwa/app/arrival.js) counted down. The map now counts them down on a
one-second tick of its own, changing a label's words only (the marker stays as drawn), and stops
that tick when the map goes. Driven on a page of the product (its origin, its Content-Security-
Policy) with app/map.js as the alert screen and the boards load it, one responder drawn once and
nothing new after; the page's clock is Playwright's."""

import re

from playwright.sync_api import expect

from tests.e2e.helpers import watch_for_problems
from tests.e2e.test_phone_crew_estimates_count_down import WATCH_INTERVALS

T = 10_000  # ms: every wait of this test
MINUTES = re.compile(r"ETA (\d+) min \(estimate\)")

# A map drawn as a screen draws one: the incident near Sheringham, and a responder 9.4 km away whose
# estimate (11 min) was worked out just now, drawn once.
DRAW_A_MAP = """async () => {
  const box = document.createElement('div');
  box.className = 'alert-map';
  document.body.prepend(box);
  const { openMap } = await import('/app/map.js');
  const map = await openMap(box, { pan: false });
  map.setIncident({ latitude: 52.9390, longitude: 1.2100, label: 'Incident' });
  const estimate = { distance_km: 9.4, eta_seconds: 660, method: 'estimate', computed_at: new Date().toISOString() };
  map.setResponders([{ alert_id: 5, responder_name: 'Sam Barker', latitude: 52.8520, longitude: 1.2150, estimate }]);
  Object.assign(window, { __map: map, __estimate: estimate });
  window.__marker = box.querySelector('.map-pin--responder');
}"""


def test_a_map_label_counts_its_estimate_down_without_new_data(page):
    page.clock.install()
    problems = watch_for_problems(page)
    page.goto("/")
    page.evaluate(WATCH_INTERVALS)
    page.evaluate(DRAW_A_MAP)
    page.evaluate("() => { window.__intervals.recording = false; }")  # the map's intervals only
    label = page.locator(".alert-map .map-pin--responder .map-pin-label")
    expect(label).to_have_text("Sam Barker 9.4 km, ETA 11 min (estimate)", timeout=T)

    # Three minutes on, nothing new drawn: the label says what arrival.js says now (8 min).
    for _ in range(6):
        page.clock.fast_forward(30_000)
        page.wait_for_timeout(100)
    expect(label).to_have_text("Sam Barker 9.4 km, ETA 8 min (estimate)", timeout=T)
    # The words beside a map (arrival.js) for the same estimate, now: the same minutes.
    beside = page.evaluate("async () => (await import('/app/arrival.js')).etaText(window.__estimate)")
    assert beside == f"about {MINUTES.search(label.inner_text()).group(1)} min (estimate)", beside
    assert page.evaluate("() => window.__marker === document.querySelector('.alert-map .map-pin--responder')"), (
        "the marker was drawn afresh"
    )

    # The map gone, its tick goes with it.
    page.evaluate("() => window.__map.destroy()")
    assert page.evaluate("() => window.__intervals.started.length") >= 1, "the map started no tick"
    left_running = page.evaluate(
        "() => window.__intervals.started.filter((t) => !window.__intervals.cleared.includes(t))"
    )
    assert left_running == [], f"the map's tick still runs after it went: {left_running}"
    assert problems == []
