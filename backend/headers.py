"""The security headers of every answer, decided here and nowhere else, per surface.

The product has four surfaces on one origin, each with its own needs:

- the firefighters' app (`/`, `/app/...`, `/sw.js`, the manifest: every path not named below);
- the coordinators' admin (`/admin/`), with the live board (`/admin/dispatch/incident/board/`), and
  the control room's full-screen board (`/board/`, outside the admin's chrome), under the board's rules;
- the API (`/api/`): JSON answers, and HTML when a browser asks (DRF's browsable API);
- the API's docs (`/api/docs/`, drf-spectacular's Swagger UI, its files served from /static/ by
  drf-spectacular-sidecar: no CDN).

Three headers:

- **Content-Security-Policy.** The app and the admin may load and connect to nothing but this
  origin (and its own WebSockets), with no inline script or style; their maps' tiles may come from
  the tile server named by MAP_TILE_URL, when one is set (images only). The API's own pages get the
  same policy, with only the inline style blocks their libraries write, by hash (the browsable
  API's code colours, the Swagger page's three rules): no inline script at all (the Swagger page
  loads its start-up script from `/api/docs/?script`). A JSON answer gets `default-src 'none'`:
  opened in a browser, it may run and load nothing. No policy anywhere allows `unsafe-eval` or
  `unsafe-inline`.
- **Permissions-Policy.** Each surface is allowed only the powerful features it uses, every other
  one is switched off for it and for anything it might frame: the app uses the screen wake lock
  (the checklist keeps the screen on during CPR), audio that starts without a tap (the alarm and
  the CPR metronome) and, soon, the position while responding; the admin, the board and the API
  use none. (Notifications and vibration are not governed by Permissions-Policy.)
- **Cache-Control.** Every API answer depends on who is asking (alerts, addresses, outcomes,
  welfare answers; a 401 or 404 says something too): `no-store, private`, with `Vary: Cookie,
  Authorization`, so that neither the browser's cache (a station's shared computer) nor a proxy
  keeps one. The admin's pages say the same through Django's admin (`never_cache`); the app's
  files are public and cached briefly (backend/pwa.py).

Where they have effect. Both policies govern a document (or, for CSP, a worker), never a file a
document loads: a module script or a stylesheet runs under the policy of the page that loads it
(CSP Level 3, "Integration with HTML", and the HTML standard's policy container, "creating a
policy container from a fetch response": only a Document's or a WorkerGlobalScope's response
gives policies; Permissions Policy, "Integration with HTML", "Process response policy": only a
new Document's response gives one). So the app's subresources (its JavaScript modules,
its stylesheet, the manifest, the PNG icons: `app_subresource`) carry neither: on a cold start over
HTTP/1.1 the ~0.7 KB per file is ~30 KB of the shell on a slow network, for nothing. Every app
document (HTML, and the SVG icon, which a browser shows as a document when opened on its own and
which can hold script), the service worker (/sw.js: a worker's CSP is its response's) and every
admin, /static/ and API answer keep their full policies; `X-Content-Type-Options: nosniff`
(Django's SecurityMiddleware) stays on every answer, so no subresource can be run as something
else.

The middleware must come before WhiteNoise in MIDDLEWARE: WhiteNoise answers the app's files
itself, without calling the middleware after it.
"""

import base64
import functools
import hashlib
import re

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.utils.cache import patch_vary_headers
from django.utils.deprecation import MiddlewareMixin

APP, ADMIN, BOARD, API, API_DOCS = "app", "admin", "board", "api", "api-docs"
ADMIN_PREFIX = "/admin/"
BOARD_PATH = "/admin/dispatch/incident/board/"
WALL_BOARD_PATH = "/board/"
API_PREFIX = "/api/"
API_DOCS_PATH = "/api/docs/"
STATIC_PREFIX = "/static/"


def surface_of(path: str) -> str:
    """Which surface a path belongs to. /static/ holds the admin's, the board's and the API pages'
    files (never a page of the app), so it gets their, stricter, rules."""
    if path in (BOARD_PATH, WALL_BOARD_PATH):
        return BOARD
    if path.startswith((ADMIN_PREFIX, STATIC_PREFIX)):
        return ADMIN
    if path == API_DOCS_PATH:
        return API_DOCS
    if path.startswith(API_PREFIX):
        return API
    return APP


# The app's files that are never a document or a worker, by media type (the service worker is
# JavaScript too, and is named).
SUBRESOURCE_TYPES = ("text/javascript", "application/javascript", "text/css", "application/manifest+json", "image/png")
SERVICE_WORKER_PATH = "/sw.js"


def app_subresource(request, response) -> bool:
    """An app file a page loads (module, stylesheet, manifest, PNG icon): no page or worker gets its
    policies from it, so it carries no CSP or Permissions-Policy (see the module's docstring)."""
    if surface_of(request.path) != APP or request.path == SERVICE_WORKER_PATH:
        return False
    media_type = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return media_type in SUBRESOURCE_TYPES


# --- Content-Security-Policy -------------------------------------------------------------------

_COMMON = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
]
APP_POLICY = [*_COMMON, "worker-src 'self'", "manifest-src 'self'"]
ADMIN_POLICY = [*_COMMON, "worker-src 'none'", "manifest-src 'none'"]
# An answer that is data, not a page (JSON, the Swagger page's script): it may load nothing.
DATA_POLICY = ["default-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"]


def _sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@functools.cache
def browsable_api_style_hashes() -> tuple[str, ...]:
    """The one inline <style> of DRF's browsable API: its code colours, made by Pygments."""
    from rest_framework.compat import pygments_css
    from rest_framework.renderers import BrowsableAPIRenderer

    css = pygments_css(BrowsableAPIRenderer.code_style)
    return (_sha256_source(css),) if css else ()


@functools.cache
def api_docs_style_hashes() -> tuple[str, ...]:
    """The inline <style> blocks of drf-spectacular's Swagger page, read from its template."""
    from django.template.loader import get_template
    from drf_spectacular.views import SpectacularSwaggerView

    source = get_template(SpectacularSwaggerView.template_name).template.source
    return tuple(_sha256_source(css) for css in re.findall(r"<style>(.*?)</style>", source, flags=re.S))


def _with_styles(policy: list[str], hashes: tuple[str, ...]) -> list[str]:
    return [f"style-src 'self' {' '.join(hashes)}" if part == "style-src 'self'" else part for part in policy]


def tile_origin(tile_url: str) -> str:
    """The origin of a map tile URL template (settings.MAP_TILE_URL, checked by backend/env.py),
    as a CSP source: `https://{s}.tile.example.org/{z}/{x}/{y}.png` is `https://*.tile.example.org`."""
    scheme, _, rest = tile_url.partition("://")
    host = rest.split("/", 1)[0]
    if host.startswith("{s}."):
        host = "*." + host.removeprefix("{s}.")
    return f"{scheme}://{host}"


def _with_tiles(policy: list[str]) -> list[str]:
    """The maps' tiles (pwa/app/map.js) are images from the configured tile server, and from no
    other site: with no MAP_TILE_URL the maps make no request anywhere else."""
    tile_url = getattr(settings, "MAP_TILE_URL", "")
    if not tile_url:
        return policy
    img_src = f"img-src 'self' data: {tile_origin(tile_url)}"
    return [img_src if part == "img-src 'self' data:" else part for part in policy]


def content_security_policy(request, response) -> str:
    surface = surface_of(request.path)
    if surface == APP:
        return "; ".join([*_with_tiles(APP_POLICY), _connect_src(request)])
    if surface in (ADMIN, BOARD):
        return "; ".join([*_with_tiles(ADMIN_POLICY), _connect_src(request)])
    if not response.get("Content-Type", "").startswith("text/html"):
        return "; ".join(DATA_POLICY)
    hashes = api_docs_style_hashes() if surface == API_DOCS else browsable_api_style_hashes()
    # The API's pages call the API (Swagger's "Try it out", the browsable API's forms): no socket.
    return "; ".join([*_with_styles(ADMIN_POLICY, hashes), "connect-src 'self'"])


def _connect_src(request) -> str:
    """'self' does not cover WebSockets in every browser still in use; name this host's."""
    try:
        host = request.get_host()
    except DisallowedHost:
        return "connect-src 'self'"
    return f"connect-src 'self' ws://{host} wss://{host}"


# --- Permissions-Policy ------------------------------------------------------------------------

# The powerful features a page could ask for that browsers govern by Permissions-Policy; each surface
# gets `feature=()` for every one it does not use. Only names desktop Chromium knows: it logs an
# error for any other (tests/e2e/ fail on one), so `bluetooth` and `web-share` are left out.
FEATURES = (
    "accelerometer",
    "autoplay",
    "camera",
    "display-capture",
    "encrypted-media",
    "fullscreen",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
)
ALLOWED_FEATURES = {
    # The checklist keeps the screen on (pwa/app/wakelock.js); the alarm and the CPR metronome
    # sound without a tap when an alert comes (pwa/app/audio.js); a responder's position will be
    # shared while responding, by consent (DESIGN.md).
    APP: ("autoplay", "geolocation", "screen-wake-lock"),
    ADMIN: (),
    BOARD: (),
    API: (),
    API_DOCS: (),
}


def permissions_policy(path: str) -> str:
    allowed = ALLOWED_FEATURES[surface_of(path)]
    return ", ".join(f"{feature}=(self)" if feature in allowed else f"{feature}=()" for feature in FEATURES)


# --- Cache-Control -----------------------------------------------------------------------------

API_CACHE_CONTROL = "no-store, private"
API_VARY = ("Cookie", "Authorization")


def never_stored(response) -> None:
    """An answer for one person only: no cache may keep it, whatever the view said."""
    response["Cache-Control"] = API_CACHE_CONTROL
    response.headers.pop("Expires", None)
    patch_vary_headers(response, API_VARY)


class SecurityHeadersMiddleware(MiddlewareMixin):
    """Content-Security-Policy, Permissions-Policy and, for the API, Cache-Control, by surface."""

    def process_response(self, request, response):
        if app_subresource(request, response):
            return response  # the policies of the page or worker that loads it apply
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = content_security_policy(request, response)
        response["Permissions-Policy"] = permissions_policy(request.path)
        if surface_of(request.path) in (API, API_DOCS):
            never_stored(response)
        return response
