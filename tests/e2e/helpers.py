from backend.accounts.management.commands.load_demo_data import DEMO_PASSWORD

# A new authenticator device for a user of the live server; prints its key. New each time: a code
# is accepted once per device, and each test passes the second factor again.
NEW_DEVICE = """
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice
user = get_user_model().objects.get(username={username!r})
print(TOTPDevice.objects.create(user=user, name="Browser test", confirmed=True).key)
"""


def new_device_code(server, username: str) -> str:
    """A right code from a new authenticator device of `username`, as their app would show it."""
    from django_otp.oath import totp

    key = server.manage("shell", "-c", NEW_DEVICE.format(username=username)).strip().splitlines()[-1]
    return f"{totp(bytes.fromhex(key)):06d}"


def pass_the_second_factor(context, server, username: str = "coordinator") -> list[str]:
    """The admin's code page, as a coordinator types the code from a new authenticator device after
    their password. Returns what was broken on the page (see watch_for_problems)."""
    code = new_device_code(server, username)
    page = context.new_page()
    problems = watch_for_problems(page)
    page.goto("/admin/two-factor/")
    page.fill("input[name=code]", code)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    page.close()
    return problems


def log_in(context, username: str, password: str = DEMO_PASSWORD) -> dict:
    """Log in through the API as the app does (GET the CSRF token, POST the credentials with it).
    The session cookie lands in the context's cookie jar, so every page of the context is logged
    in. Returns the profile (the body of GET /api/v1/me/)."""
    token = context.request.get("/api/v1/auth/csrf/").json()["csrf_token"]
    response = context.request.post(
        "/api/v1/auth/login/", data={"username": username, "password": password}, headers={"X-CSRFToken": token}
    )
    assert response.ok, f"logging in as {username}: {response.status} {response.text()}"
    return response.json()


POLICY_MESSAGES = ("Content Security Policy", "Permissions-Policy", "Permissions policy")


def watch_for_problems(page) -> list[str]:
    """Collects what would mean the page is broken: uncaught errors, Content-Security-Policy
    violations and Permissions-Policy errors (a feature the browser does not know, a feature used
    that the policy forbids). (Failed requests are not collected: see watch_the_console.)"""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if message.type in ("error", "warning") and any(words in message.text for words in POLICY_MESSAGES)
            else None
        ),
    )
    return problems


def watch_the_console(page) -> list[str]:
    """Every error the console shows (a failed request is one: "Failed to load resource: the server
    responded with a status of 401"), and every answer of 400 or more."""
    seen: list[str] = []
    page.on("console", lambda message: seen.append(f"console: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: seen.append(f"uncaught: {error}"))
    page.on(
        "response",
        lambda response: seen.append(f"{response.status} {response.url}") if response.status >= 400 else None,
    )
    return seen


def accept_new_alert(context, control, reference: str, where: tuple[float, float], address: str) -> tuple[dict, int]:
    """Dispatch an incident (as the CAD, through `control`) and accept the logged-in firefighter's
    alert for it through the API, as the app does. Returns (the incident, the alert's id)."""
    incident = control.dispatch(reference, *where, address)
    alerts = context.request.get("/api/v1/alerts/?active=true").json()["results"]
    [alert] = [alert for alert in alerts if alert["incident_id"] == incident["id"]]
    token = next(cookie["value"] for cookie in context.cookies() if cookie["name"] == "csrftoken")
    response = context.request.post(
        f"/api/v1/alerts/{alert['id']}/respond/", data={"response": "accept"}, headers={"X-CSRFToken": token}
    )
    assert response.ok, f"accepting: {response.status} {response.text()}"
    return incident, alert["id"]
