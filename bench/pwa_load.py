"""The firefighters' app on a slow phone network: a cold load of the app shell, and alert to paint.

The product is served as `make run` serves it (manage.py serve, demo data, temporary SQLite). A
fresh Chromium context (no HTTP cache, no service worker yet), logged in (session cookie set
before the page opens), on emulated slow 4G through CDP Network.emulateNetworkConditions
(--latency-ms 150, --down-kbps 1600, --up-kbps 750) with the cache disabled:

- shell bytes: what the page's requests transferred until the home screen is usable, as
  Network.loadingFinished's encodedDataLength (on the wire: headers and body, compressed if the
  server compressed it), split into the app's files and the API calls; and the decoded body size;
- usable: from navigation start (performance.now() is relative to it) to the home screen's main
  content (#ready-heading, past "Checking…") shown with the socket live (.topbar .pill-live);
- alert to paint: --alerts incidents dispatched through the API (as CAD does) while the home screen
  is open; for each, from the moment the `alert.created` frame reaches the page's WebSocket (a
  wrapper added by an init script listens first) to the frame after the alert screen's heading was
  inserted (requestAnimationFrame, then a task: the paint has happened). The app is not changed.

- the map's own cost (not in the shell: pwa/app/map.js, its stylesheet and Leaflet from
  /static/vendor/leaflet/, loaded when the alert screen first shows a map): the bytes on the wire of
  those files, and from the alert screen's paint to the incident's marker on the map, the first time
  (from the network) and then (from the service worker's cache).

Targets: shell <= 150 KB compressed, usable <= 2 s, alert to paint <= 100 ms.
The last line printed is one JSON object with the figures.

    .venv/bin/python bench/pwa_load.py [--alerts 10]
"""

import argparse
import json
import statistics
import urllib.request

from figures import percentile
from playwright.sync_api import sync_playwright
from pwa_browser import CHROMIUM, CHROMIUM_ARGS, log_in, running_product

FIREFIGHTER = "ff.norwich.1"
TARGETS = {"shell_kb": 150, "usable_ms": 2000, "alert_paint_ms": 100}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-GB",
}
SHELL_FILES = ["/", "/app/styles.css", "/app/main.js", "/manifest.webmanifest", "/sw.js"]

# Runs before the app's scripts: timestamps (performance.now(), ms since navigation start) for the
# home screen being usable and for each alert frame and the alert screen's paint after it.
PROBE = """
(() => {
  const marks = (window.__bench = { usableAt: null, frames: [], paints: [], maps: [], pin: null });
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const at = performance.now();
        try {
          const frame = JSON.parse(event.data);
          if (frame.type === "alert.created") marks.frames.push({ at, id: frame.data?.id ?? frame.data?.alert?.id });
        } catch {}
      });
    }
  };
  const afterPaint = (record) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => record(performance.now());
    channel.port2.postMessage(null);
  });
  let heading = null;
  new MutationObserver(() => {
    if (marks.usableAt === null) {
      const ready = document.querySelector("#ready-heading");
      if (ready && !ready.textContent.startsWith("Checking") && document.querySelector(".topbar .pill-live")) {
        const seen = performance.now();
        afterPaint((at) => { if (marks.usableAt === null) marks.usableAt = at; marks.usableSeenAt = seen; });
      }
    }
    const current = document.querySelector(".alert-screen .alert-heading");
    if (current && current !== heading) {
      heading = current;
      const inserted = performance.now();
      afterPaint((at) => marks.paints.push({ inserted, at, hash: location.hash }));
    }
    if (!current) heading = null;
    const pin = document.querySelector(".alert-map .map-pin--incident");
    if (pin && pin !== marks.pin) {
      marks.pin = pin;
      marks.maps.push({ at: performance.now() });
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
})();
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=150)
    parser.add_argument("--down-kbps", type=float, default=1600)
    parser.add_argument("--up-kbps", type=float, default=750)
    args = parser.parse_args()

    with running_product() as product, sync_playwright() as driver:
        wire = check_compression(product.url)
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        login = browser.new_context(base_url=product.url)
        log_in(login, FIREFIGHTER)
        state = login.storage_state()  # the session and CSRF cookies only: nothing else is stored
        login.close()

        context = browser.new_context(base_url=product.url, storage_state=state, **PHONE)
        context.set_default_timeout(30_000)
        context.add_init_script(PROBE)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": args.latency_ms,
                "downloadThroughput": args.down_kbps * 1000 / 8,
                "uploadThroughput": args.up_kbps * 1000 / 8,
            },
        )
        requests: dict[str, dict] = {}
        cdp.on(
            "Network.requestWillBeSent",
            lambda e: requests.setdefault(e["requestId"], {"url": e["request"]["url"], "decoded": 0}),
        )
        cdp.on(
            "Network.responseReceived",
            lambda e: requests.setdefault(e["requestId"], {"url": e["response"]["url"], "decoded": 0}).update(
                encoding={k.lower(): v for k, v in e["response"]["headers"].items()}.get("content-encoding", ""),
                from_worker=bool(e["response"].get("fromServiceWorker")),
            ),
        )
        cdp.on(
            "Network.dataReceived",
            lambda e: requests.setdefault(e["requestId"], {"url": "?", "decoded": 0}).update(
                decoded=requests[e["requestId"]]["decoded"] + e["dataLength"]
            ),
        )
        cdp.on(
            "Network.loadingFinished",
            lambda e: requests.setdefault(e["requestId"], {"url": "?", "decoded": 0}).update(
                wire=e["encodedDataLength"]
            ),
        )

        page.goto("/", wait_until="commit")
        page.wait_for_function("() => window.__bench.usableAt !== null", polling=50)
        usable_ms = page.evaluate("() => window.__bench.usableAt")
        loaded = {rid: dict(r) for rid, r in requests.items() if "wire" in r}
        app = [r for r in loaded.values() if "/api/" not in r["url"]]
        api = [r for r in loaded.values() if "/api/" in r["url"]]
        shell_bytes = sum(r["wire"] for r in app)
        shell_decoded = sum(r["decoded"] for r in app)
        api_bytes = sum(r["wire"] for r in api)
        print(
            f"Cold load, slow 4G ({args.latency_ms:.0f} ms, {args.down_kbps:.0f}/{args.up_kbps:.0f} kbps), logged in:"
        )
        for r in sorted(loaded.values(), key=lambda r: -r["wire"]):
            path = r["url"].split(product.url, 1)[-1]
            print(f"  {r['wire']:8d} B on the wire  {r['decoded']:8d} B decoded  {r.get('encoding') or '-':5s} {path}")
        print(f"  app files: {shell_bytes} B on the wire ({shell_decoded} B decoded), API: {api_bytes} B")
        print(f"  usable (home content + socket live, painted): {usable_ms:.0f} ms after navigation start")

        # Alerts while the home screen is open (still on slow 4G).
        page.locator(".topbar .pill-live").wait_for()
        paint_ms = []
        for _ in range(args.alerts):
            page.evaluate("() => { window.__bench.frames = []; window.__bench.paints = []; }")
            incident = product.dispatch()
            page.wait_for_function("() => window.__bench.frames.length && window.__bench.paints.length", polling=50)
            marks = page.evaluate("() => { const { frames, paints } = window.__bench; return { frames, paints }; }")
            paint_ms.append(marks["paints"][0]["at"] - marks["frames"][0]["at"])
            product.close(incident["id"])
            page.evaluate("() => { location.hash = '#/'; }")
            page.wait_for_function("() => !document.querySelector('.alert-screen')", polling=50)
            page.locator(".topbar .pill-live").wait_for()
        print(
            f"  alert frame to alert screen painted ({len(paint_ms)} alerts): "
            + ", ".join(f"{v:.1f}" for v in paint_ms)
        )
        map_bytes, map_files, map_ms = map_cost(browser, product, state, args)
        print(f"  the map (not in the shell), first alert screen after a cold load: {map_bytes} B on the wire")
        for url, on_wire, body in map_files:
            print(f"    {on_wire:8d} B  {body:8d} B decoded  {url.split(product.url, 1)[-1]}")
        print(f"  alert screen painted to the incident on its map: {map_ms:.0f} ms (Leaflet from the network)")
        browser.close()

    print("WhiteNoise, Accept-Encoding: gzip, br (manage.py serve):")
    for path, (encoding, size) in wire.items():
        print(f"  {path:24s} Content-Encoding: {encoding or '(none)':6s} {size} B")

    figures = {
        "shell_bytes": shell_bytes,
        "shell_decoded_bytes": shell_decoded,
        "shell_compressed_by_server": any(r.get("encoding") for r in app),
        "api_bytes_until_usable": api_bytes,
        "usable_ms": round(usable_ms, 1),
        "alert_paint_p50_ms": round(statistics.median(paint_ms), 1),
        "alert_paint_p95_ms": round(percentile(paint_ms, 0.95), 1),
        "alert_paint_max_ms": round(max(paint_ms), 1),
        "alerts": len(paint_ms),
        "map_bytes": map_bytes,
        "map_first_draw_ms": round(map_ms, 1),
        "latency_ms": args.latency_ms,
        "down_kbps": args.down_kbps,
        "up_kbps": args.up_kbps,
        "targets": {"shell_bytes": TARGETS["shell_kb"] * 1000, "usable_ms": 2000, "alert_paint_max_ms": 100},
    }
    print(json.dumps(figures))


def map_cost(browser, product, state, args) -> tuple[int, list, float]:
    """The alert screen's map on the same slow 4G, in a fresh context whose requests all go through
    the page (service workers blocked: a worker's own fetches would escape the emulated network):
    the bytes of the map's files on the wire, and from the alert screen's paint to the incident's
    marker on the map."""
    context = browser.new_context(base_url=product.url, storage_state=state, service_workers="block", **PHONE)
    context.set_default_timeout(30_000)
    context.add_init_script(PROBE)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": args.latency_ms,
            "downloadThroughput": args.down_kbps * 1000 / 8,
            "uploadThroughput": args.up_kbps * 1000 / 8,
        },
    )
    urls: dict[str, str] = {}
    wire: dict[str, int] = {}
    decoded: dict[str, int] = {}

    def received(event) -> None:
        decoded[event["requestId"]] = decoded.get(event["requestId"], 0) + event["dataLength"]

    cdp.on("Network.requestWillBeSent", lambda e: urls.setdefault(e["requestId"], e["request"]["url"]))
    cdp.on("Network.dataReceived", received)
    cdp.on("Network.loadingFinished", lambda e: wire.__setitem__(e["requestId"], e["encodedDataLength"]))
    page.goto("/", wait_until="commit")
    page.locator(".topbar .pill-live").wait_for()
    incident = product.dispatch()
    page.wait_for_function("() => window.__bench.paints.length && window.__bench.maps.length", polling=50)
    marks = page.evaluate("() => { const { paints, maps } = window.__bench; return { paints, maps }; }")
    product.close(incident["id"])
    parts = ("/app/map.", "/static/vendor/leaflet/")
    files = [(url, wire.get(rid, 0), decoded.get(rid, 0)) for rid, url in urls.items() if any(p in url for p in parts)]
    context.close()
    return sum(size for _, size, _ in files), files, marks["maps"][0]["at"] - marks["paints"][0]["at"]


def check_compression(base_url: str) -> dict:
    """What the server sends for the shell's files when a browser says it takes gzip and brotli."""
    found = {}
    for path in SHELL_FILES:
        request = urllib.request.Request(f"{base_url}{path}", headers={"Accept-Encoding": "gzip, br"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            found[path] = (response.headers.get("Content-Encoding", ""), len(response.read()))
    return found


if __name__ == "__main__":
    main()
