"""Screenshots of the coordinators' reports with the demo's first year (issue 16): the product as
`make run` serves it (demo data and the generated history of the pilot, temporary SQLite), Debian's
Chromium at a desktop viewport, saved in docs/screenshots/:

    reports-first-on-scene.png  the period, first on scene (fire versus ambulance) and the charts
    reports-trends.png          the intervals month by month
    reports-utstein.png         the Utstein template by group and the alerting system's figures
    reports-drilldown.png       the incidents behind one figure (crew first on scene)

    .venv/bin/python bench/report_screenshots.py [--out docs/screenshots]

Also prints the time `load_demo_history` took in this run.
"""

import argparse
import re
import time
from pathlib import Path

from playwright.sync_api import sync_playwright
from pwa_browser import CHROMIUM, CHROMIUM_ARGS, REPO_ROOT, log_in, running_product

from tests.support import live_server

THE_YEAR = "date_from=2016-07-18&date_to=2017-07-17"
NEW_DEVICE = (
    "from django.contrib.auth import get_user_model\n"
    "from django_otp.plugins.otp_totp.models import TOTPDevice\n"
    "user = get_user_model().objects.get(username='coordinator')\n"
    "print(TOTPDevice.objects.create(user=user, name='Screenshots', confirmed=True).key)\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    written = []

    with running_product() as product, sync_playwright() as driver:
        started = time.perf_counter()
        print(live_server.manage(product.env, "load_demo_history", timeout=120).strip())
        print(f"load_demo_history, whole command: {time.perf_counter() - started:.1f} s")
        key = live_server.manage(product.env, "shell", "-c", NEW_DEVICE).strip().splitlines()[-1]

        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=product.url, viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="Europe/London"
        )
        context.set_default_timeout(30_000)
        log_in(context, "coordinator")
        page = context.new_page()
        from django_otp.oath import totp

        page.goto("/admin/two-factor/")
        page.fill("input[name=code]", f"{totp(bytes.fromhex(key)):06d}")
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/")

        def shot(name: str, selector: str | None = None, *, full: bool = False) -> None:
            path = args.out / f"{name}.png"
            if selector:
                page.locator(selector).first.screenshot(path=str(path), animations="disabled")
            else:
                page.screenshot(path=str(path), full_page=full, animations="disabled")
            written.append(path)

        page.goto(f"/admin/reports/?{THE_YEAR}")
        page.locator("#first-on-scene-heading").scroll_into_view_if_needed()
        page.evaluate("document.querySelector('#report-heading').scrollIntoView()")
        shot("reports-first-on-scene")
        page.evaluate("document.querySelector('#chart-trend-acceptance-title').closest('figure').scrollIntoView()")
        shot("reports-trends")
        page.evaluate("document.querySelector('#utstein-heading').scrollIntoView()")
        shot("reports-utstein")
        link = page.locator(".report-first-on-scene a").first.get_attribute("href")
        page.goto(re.sub("&amp;", "&", link))
        shot("reports-drilldown")
        browser.close()
    for path in written:
        print(path.relative_to(REPO_ROOT))


if __name__ == "__main__":
    main()
