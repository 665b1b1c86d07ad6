import pytest

from tests.support.push_service import push_service  # noqa: F401 (a fixture)


@pytest.fixture(autouse=True)
def allow_the_stand_in(settings):
    """The stand-in push service is plain http on 127.0.0.1; production allows only https hosts."""
    settings.PUSH_SERVICE_ALLOWLIST = [*settings.PUSH_SERVICE_ALLOWLIST, "http://127.0.0.1:*"]
