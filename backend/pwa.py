"""Serving the firefighters' app (pwa/) from the site root, and the Content-Security-Policy.

WhiteNoise serves pwa/ at `/` (WHITENOISE_ROOT; `/` is pwa/index.html) beside /static/. The
service worker must be at the root to control the whole app, and must never be cached by HTTP:
a browser checks for a new one on every navigation, and a cached copy would hold back every fix
(`Cache-Control: no-cache`, revalidated each time). Everything else of the app gets a short
max-age: the service worker's own cache is what makes the app work offline.

Files of the app's development tooling (package.json, node_modules/, tools/, dotfiles) are never
served.

The policy allows nothing but this origin: no inline script or style, no other host. The app and
the admin have their own policies: the admin needs no manifest or worker. /api/ has none, because
the browsable API and the API docs page are DRF's and drf-spectacular's pages, with inline scripts.
"""

import os
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.middleware.gzip import GZipMiddleware
from django.utils.deprecation import MiddlewareMixin
from whitenoise.middleware import WhiteNoiseMiddleware

SERVICE_WORKER = "sw.js"
APP_MAX_AGE_SECONDS = 60
# Under pwa/ but not the app: never served.
NOT_SERVED = {"node_modules", "package.json", "package-lock.json", "tools"}

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
NO_POLICY_PREFIXES = ("/api/",)
ADMIN_PREFIX = "/admin/"


def _not_served(url: str) -> bool:
    parts = PurePosixPath(url).parts[1:]
    return bool(parts) and (parts[0] in NOT_SERVED or any(part.startswith(".") for part in parts))


class AppFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise serving /static/ and, from WHITENOISE_ROOT, the app at the root: with the app's
    cache headers, and without the app's development files."""

    def __init__(self, get_response=None, settings=settings):
        root = getattr(settings, "WHITENOISE_ROOT", None)
        # WhiteNoise names files by joining its abspath'd root and the relative path.
        self.app_root = os.path.join(os.path.abspath(root), "") if root else None
        super().__init__(get_response, settings=settings)

    def is_app_file(self, path: str) -> bool:
        return self.app_root is not None and path.startswith(self.app_root)

    def add_cache_headers(self, headers, path, url):
        super().add_cache_headers(headers, path, url)
        if not self.is_app_file(path):
            return
        if url == f"/{SERVICE_WORKER}":
            headers["Cache-Control"] = "no-cache"
            headers["Service-Worker-Allowed"] = "/"
        else:
            headers["Cache-Control"] = f"max-age={APP_MAX_AGE_SECONDS}, public"

    def add_file_to_dictionary(self, url, path, stat_cache=None):
        if self.is_app_file(path) and _not_served(url):
            return
        super().add_file_to_dictionary(url, path, stat_cache=stat_cache)

    def find_file(self, url):
        if not url.startswith(self.static_prefix) and _not_served(url):
            return None
        return super().find_file(url)


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Adds the app's or the admin's policy. Must come before WhiteNoise in MIDDLEWARE: WhiteNoise
    answers the app's files itself, without calling the middleware after it."""

    def process_response(self, request, response):
        if "Content-Security-Policy" in response or request.path.startswith(NO_POLICY_PREFIXES):
            return response
        policy = ADMIN_POLICY if request.path.startswith(ADMIN_PREFIX) else APP_POLICY
        response["Content-Security-Policy"] = "; ".join([*policy, _connect_src(request)])
        return response


def _connect_src(request) -> str:
    """'self' does not cover WebSockets in every browser still in use; name this host's."""
    try:
        host = request.get_host()
    except DisallowedHost:
        return "connect-src 'self'"
    return f"connect-src 'self' ws://{host} wss://{host}"


class CompressAppFilesMiddleware(GZipMiddleware):
    """Gzip the app's files and /static/ (the shell is about a third of its size compressed, which
    is what makes a cold start on a weak signal fast). WhiteNoise only serves compressed copies
    that exist on disk, and none exist for pwa/. Pages with secrets in them (the admin's forms,
    API answers) are left alone: compressing secrets next to reflected input invites BREACH."""

    def process_response(self, request, response):
        if request.path.startswith(("/api/", ADMIN_PREFIX)):
            return response
        return super().process_response(request, response)
