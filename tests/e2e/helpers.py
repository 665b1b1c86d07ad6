from backend.accounts.management.commands.load_demo_data import DEMO_PASSWORD


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


def watch_for_problems(page) -> list[str]:
    """Collects what would mean the page is broken: uncaught errors and Content-Security-Policy
    violations. (Failed requests are not collected: an app that is not logged in gets 401s.)"""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    return problems
