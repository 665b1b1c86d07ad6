"""Every screen of the firefighters' app passes axe-core with no serious or critical violation, on a
phone, in the light and the dark colour scheme.

axe-core comes from npm at the version in tests/e2e/package-lock.json (`make test` runs `npm ci`
there). It is injected as a script tag, which the app's Content-Security-Policy would refuse, so
these contexts bypass the policy (test_smoke.py checks the app under it).

A screen with a known violation is marked xfail(strict=True) with the fix it needs (KNOWN): the
test fails (XPASS) as soon as the fix lands, so the mark has to go with it.
"""

from pathlib import Path

import pytest

from tests.e2e.conftest import ACTION_TIMEOUT_MS, PHONE
from tests.e2e.screens import SCREENS, close_incidents, open_screen

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}
# Each screen's firefighter and station: a station no other screen of this module dispatches to
# in the same test, so an alert of one test never shows up in another.
WHO = {"home": ("ff.sheringham.3", "sheringham"), "outcome-form": ("ff.thetford.1", "thetford")}  # .1: a crew lead
DEFAULT_WHO = ("ff.thetford.2", "thetford")
# Known violations, with the fix the app needs (pwa/): {(screen, scheme): reason}.
# None at present: each fix landed with its mark removed.
KNOWN: dict[tuple[str, str], str] = {}


def blocking_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    return [violation for violation in results["violations"] if violation["impact"] in BLOCKING]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"]:
            lines.append(f"    {' > '.join(map(str, node['target']))}")
            lines.append(f"      {node['html'][:200]}")
            for summary in (node.get("failureSummary") or "").splitlines():
                lines.append(f"      {summary}")
    return "\n".join(lines)


def screen_params():
    for scheme in ("light", "dark"):
        for screen in SCREENS:
            known = KNOWN.get((screen, scheme))
            marks = [pytest.mark.xfail(strict=True, reason=known)] if known else []
            yield pytest.param(screen, scheme, marks=marks, id=f"{screen}-{scheme}")


@pytest.fixture
def incidents(server):
    dispatched: list[int] = []
    yield dispatched
    close_incidents(server, dispatched)


@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed: run `make e2e-tools` (npm ci in tests/e2e/)")
@pytest.mark.parametrize(("screen", "scheme"), list(screen_params()))
def test_the_screen_has_no_serious_accessibility_violation(chromium, server, incidents, screen, scheme):
    context = chromium.new_context(base_url=server.url, bypass_csp=True, color_scheme=scheme, **PHONE)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        firefighter, station = WHO.get(screen, DEFAULT_WHO)
        page = open_screen(context, server, screen, firefighter=firefighter, station=station, incidents=incidents)
        assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")

        violations = blocking_violations(page)

        assert not violations, f"axe-core on the {screen} screen ({scheme}):\n{describe(violations)}"
    finally:
        context.close()
