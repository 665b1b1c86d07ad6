"""Screenshots of the firefighters' app for the README: the product served as `make run` serves it
(demo data, temporary SQLite), Debian's Chromium at a phone's viewport (390x844 CSS pixels, device
scale 2), saved at CSS scale (390x844 PNGs, small enough to commit) in docs/screenshots/:

    login.png      the login screen
    home.png       a firefighter's home screen, logged in, socket live
    alert.png      an alert as it arrives: a cardiac arrest dispatched through the API (as CAD does)
    alert-map.png  the same alert after accepting, scrolled to its map (no tile server: a plain
                   background; the phone's own position from emulated geolocation) and the
                   nearest defibrillators
    incident.png   the crew on that incident, after accepting: each one's arrival estimate from the
                   position they share, and who is likely first against the ambulance's ETA
    checklist.png  the CPR and defibrillator checklist, on scene
    forms.png      the forms after the call, and their state (not started, pending, accepted)
    outcome-form.png  the crew lead's outcome form, prefilled from the checklist

    .venv/bin/python bench/screenshots.py [--out docs/screenshots] [--dark]
"""

import argparse
import datetime
from pathlib import Path

from playwright.sync_api import sync_playwright
from pwa_browser import CHROMIUM, CHROMIUM_ARGS, REPO_ROOT, log_in, my_alert, respond, running_product, share_position

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-GB",
    "timezone_id": "Europe/London",
}
FIREFIGHTER = "ff.norwich.1"
# Where the phone says it is (emulated geolocation): about 1.8 km from the demo incident.
PHONE_POSITION = {"latitude": 52.6318, "longitude": 1.2880, "accuracy": 25}
# The two crewmates: what they answer, and where they share their position from (about 3 and 4.5 km
# away in a straight line), so the crew panel shows three estimates and who is likely first.
CREWMATES = (
    ("ff.norwich.2", ("accept", "en_route"), (52.6400, 1.2750)),
    ("ff.norwich.3", ("accept",), (52.6000, 1.2600)),
)
AMBULANCE_IN_MINUTES = 9
LIVE = ".topbar .pill-live"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshots")
    parser.add_argument("--dark", action="store_true", help="the dark colour scheme (files named *-dark.png)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "-dark" if args.dark else ""
    written = []

    def shot(page, name: str) -> None:
        page.wait_for_timeout(300)  # let transitions and fonts settle
        path = args.out / f"{name}{suffix}.png"
        page.screenshot(path=str(path), scale="css", animations="disabled", caret="hide")
        written.append(path)

    with running_product() as product, sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=product.url,
            color_scheme="dark" if args.dark else "light",
            bypass_csp=True,  # for wait_for_function (no script of ours runs otherwise)
            geolocation=PHONE_POSITION,
            permissions=["geolocation"],
            **PHONE,
        )
        context.set_default_timeout(15_000)
        page = context.new_page()

        page.goto("/#/login")
        page.locator("input#username").wait_for()
        shot(page, "login")

        log_in(context, FIREFIGHTER)
        page.goto("/")
        page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        page.reload()  # now under its service worker, as an installed app runs
        page.locator(LIVE).wait_for()
        page.wait_for_function("!document.querySelector('#ready-heading')?.textContent.startsWith('Checking')")
        shot(page, "home")

        # A cardiac arrest, dispatched as the ambulance dispatch system does: the app opens it.
        incident = product.dispatch()
        page.locator(".alert-actions button").first.wait_for()
        page.locator(".alert-meta").wait_for()
        shot(page, "alert")

        alert = my_alert(context, incident["id"])
        # Two crewmates answer too, so the crew list shows more than one state, and share where they
        # are; the CAD says when the ambulance is expected.
        for username, answers, (latitude, longitude) in CREWMATES:
            crewmate = browser.new_context(base_url=product.url)
            log_in(crewmate, username)
            theirs = my_alert(crewmate, incident["id"])["id"]
            respond(crewmate, theirs, *answers)
            share_position(crewmate, theirs, latitude, longitude)
            crewmate.close()
        ambulance_eta = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=AMBULANCE_IN_MINUTES)
        product.set_ambulance_eta(incident["id"], ambulance_eta.isoformat())
        respond(context, alert["id"], "accept")
        page.goto(f"/#/alerts/{alert['id']}")
        page.locator(".alert-sharing .sharing-line").wait_for()
        context.set_geolocation(PHONE_POSITION)  # Chromium gives a watch a fix when it is set
        page.locator(".alert-sharing .sharing-estimate").wait_for()
        page.locator(".alert-map .map-pin--me").wait_for()
        page.locator(".alert-defibs h2 + *").wait_for()
        page.locator(".alert-around").scroll_into_view_if_needed()
        page.evaluate("document.querySelector('.btn-navigate').scrollIntoView({block: 'start'})")
        shot(page, "alert-map")
        page.goto(f"/#/alerts/{alert['id']}/incident")
        page.locator("ul.crew-list li").nth(2).wait_for()
        page.locator("ul.crew-list .crew-estimate").nth(2).wait_for()
        page.locator(".crew-first").wait_for()
        page.locator(LIVE).wait_for()
        shot(page, "incident")

        respond(context, alert["id"], "en_route", "on_scene")
        page.goto(f"/#/alerts/{alert['id']}/checklist")
        page.wait_for_function("document.querySelector('#steps-heading')?.textContent.endsWith(' checklist')")
        shot(page, "checklist")

        # After the call: the forms list, then the crew lead's outcome form, prefilled.
        respond(context, alert["id"], "cleared")
        page.goto(f"/#/alerts/{alert['id']}/forms")
        page.locator("ul.form-list").wait_for()
        shot(page, "forms")
        page.goto(f"/#/alerts/{alert['id']}/forms/outcome")
        page.locator("form#record-form").wait_for()
        shot(page, "outcome-form")

        product.close(incident["id"])
        browser.close()

    for path in written:
        shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path  # --out may be elsewhere
        print(f"{shown}  {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
