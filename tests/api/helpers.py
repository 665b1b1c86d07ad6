import jsonschema

from backend.schemas import load

_validators = {}


def assert_matches(name: str, body) -> None:
    """The response body has the documented shape (backend/schemas/<name>.schema.json)."""
    if name not in _validators:
        _validators[name] = jsonschema.Draft202012Validator(
            load(name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
    _validators[name].validate(body)


def assert_error(response, status: int, code: str | None = None, *, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert_matches("api_error", body)
    if code:
        assert body["error"]["code"] == code, body
    if field:
        assert body["error"]["fields"].get(field), body
    return body["error"]
