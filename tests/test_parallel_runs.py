"""The suite runs on several processes (pytest-xdist: `make test`, .ci/run) without the processes
seeing each other's work: tests/conftest.py's xdist groups and per-worker channel layers."""

import os

import pytest
from django.conf import settings

from tests.conftest import channel_layers_for_worker

REDIS_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:6379/0"}], "prefix": "coresponder", "capacity": 1000},
    }
}
IN_MEMORY_LAYERS = {"default": {"BACKEND": "backend.realtime.layers.ThrottledInMemoryChannelLayer", "CONFIG": {}}}


def test_each_worker_gets_a_redis_prefix_of_its_own():
    first = channel_layers_for_worker(REDIS_LAYERS, "gw0")
    second = channel_layers_for_worker(REDIS_LAYERS, "gw1")

    assert first["default"]["CONFIG"]["prefix"] == "coresponder-gw0"
    assert second["default"]["CONFIG"]["prefix"] == "coresponder-gw1"
    assert first["default"]["CONFIG"]["hosts"] == REDIS_LAYERS["default"]["CONFIG"]["hosts"]
    assert REDIS_LAYERS["default"]["CONFIG"]["prefix"] == "coresponder"  # the settings given are left alone


def test_an_in_memory_layer_is_left_as_it_is():
    assert channel_layers_for_worker(IN_MEMORY_LAYERS, "gw0") == IN_MEMORY_LAYERS


@pytest.mark.skipif(
    not os.environ.get("PYTEST_XDIST_WORKER") or "prefix" not in settings.CHANNEL_LAYERS["default"]["CONFIG"],
    reason="only on an xdist worker with the Redis channel layer (.ci/run's second pass)",
)
def test_this_worker_uses_its_own_prefix_and_so_do_the_processes_it_starts(db):
    # `db`: only so that the `database` marker puts it in .ci/run's second pass, the one with Redis.
    worker = os.environ["PYTEST_XDIST_WORKER"]
    assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"].endswith(f"-{worker}")
    assert os.environ["CHANNEL_LAYER_PREFIX"] == settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]


@pytest.fixture(scope="module")
def built_once_for_the_module():
    return object()


@pytest.mark.processes
def test_a_test_sharing_a_module_fixture_that_starts_processes_runs_on_the_module_s_worker(
    request, built_once_for_the_module
):
    mark = request.node.get_closest_marker("xdist_group")
    assert mark is not None and mark.args == ("tests/test_parallel_runs.py",)
    if os.environ.get("PYTEST_XDIST_WORKER") and request.config.option.loadgroup:
        # What `--dist loadgroup` schedules by: the mark is only a wish until it is in the test's id.
        assert request.node.nodeid.endswith("@tests/test_parallel_runs.py"), request.node.nodeid


def test_a_test_sharing_a_module_fixture_that_starts_nothing_is_handed_out_on_its_own(
    request, built_once_for_the_module
):
    assert request.node.get_closest_marker("xdist_group") is None


def test_a_test_with_only_function_fixtures_is_handed_out_on_its_own(request, db):
    assert request.node.get_closest_marker("xdist_group") is None


def test_the_browser_tests_are_shared_by_every_worker(request):
    browser_tests = [item for item in request.session.items if item.get_closest_marker("browser")]
    assert [item for item in browser_tests if item.get_closest_marker("xdist_group")] == []


def test_the_fault_clusters_start_one_at_a_time(request):
    fault_tests = [item for item in request.session.items if "start_cluster" in item.fixturenames]
    groups = {item.get_closest_marker("xdist_group").args for item in fault_tests}
    assert groups <= {("fault clusters",)}
