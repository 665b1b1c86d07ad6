"""The API's own pages work in a real browser under their Content-Security-Policy
(backend/headers.py): Swagger UI at /api/docs/ (its files from drf-spectacular-sidecar, its start-up
script from /api/docs/?script) and DRF's browsable API, with nothing refused, no eval, and no
Permissions-Policy error."""

from tests.e2e.helpers import log_in, watch_for_problems

# Swagger UI resolves the whole document (300 kB, 41 paths) before it shows any endpoint: 2.3 s on
# a quiet machine, 7-9 s with the CPU slowed four times, as a loaded CI run slows it. A wait for a
# third party's rendering, not a measure of ours: the app's own actions keep the 10 s default.
SWAGGER_RENDER_TIMEOUT_MS = 40_000


def test_the_api_docs_show_every_endpoint_with_nothing_refused(page):
    problems = watch_for_problems(page)
    requests = []
    page.on("request", lambda request: requests.append(request.url))

    response = page.goto("/api/docs/")
    page.locator(".opblock-summary-path", has_text="/api/v1/auth/session/").wait_for(timeout=SWAGGER_RENDER_TIMEOUT_MS)
    page.wait_for_load_state("networkidle")

    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy
    assert page.locator(".opblock").count() > 20
    origin = page.evaluate("location.origin")
    assert all(url.startswith((origin, "data:")) for url in requests), [u for u in requests if not u.startswith(origin)]
    assert problems == []


def test_the_browsable_api_works_with_nothing_refused(phone, page):
    log_in(phone, "ff.norwich.3")
    problems = watch_for_problems(page)

    response = page.goto("/api/v1/me/")
    page.locator(".response-info").wait_for()
    page.wait_for_load_state("networkidle")

    assert response.headers["content-type"].startswith("text/html")
    assert "ff.norwich.3" in page.locator(".response-info").inner_text()
    assert problems == []
