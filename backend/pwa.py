"""Serving the firefighters' app (pwa/) from the site root.

WhiteNoise serves pwa/ at `/` (WHITENOISE_ROOT; `/` is pwa/index.html) beside /static/. The
service worker must be at the root to control the whole app, and must never be cached by HTTP:
a browser checks for a new one on every navigation, and a cached copy would hold back every fix
(`Cache-Control: no-cache`, revalidated each time). Everything else of the app gets a short
max-age: the service worker's own cache is what makes the app work offline.

Files of the app's development tooling (package.json, node_modules/, tools/, dotfiles) are never
served.

The Content-Security-Policy and the other security headers of the app and of everything else are
decided in backend/headers.py.
"""

import os
from pathlib import PurePosixPath

from django.conf import settings
from django.middleware.gzip import GZipMiddleware
from whitenoise.middleware import WhiteNoiseMiddleware

SERVICE_WORKER = "sw.js"
APP_MAX_AGE_SECONDS = 60
# Under pwa/ but not the app: never served.
NOT_SERVED = {"node_modules", "package.json", "package-lock.json", "tools"}

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


class CompressAppFilesMiddleware(GZipMiddleware):
    """Gzip the app's files and /static/ (the shell is about a third of its size compressed, which
    is what makes a cold start on a weak signal fast). WhiteNoise only serves compressed copies
    that exist on disk, and none exist for pwa/. Pages with secrets in them (the admin's forms,
    API answers) are left alone: compressing secrets next to reflected input invites BREACH."""

    def process_response(self, request, response):
        if request.path.startswith(("/api/", ADMIN_PREFIX)):
            return response
        return super().process_response(request, response)
