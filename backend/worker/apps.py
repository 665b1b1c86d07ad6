from django.apps import AppConfig


class WorkerConfig(AppConfig):
    """The worker process (`manage.py run_worker`) and the one-process server (`manage.py serve`):
    they run the passes the apps register (backend/scheduling.py) and know nothing else of them."""

    name = "backend.worker"
    label = "worker"
    verbose_name = "Worker"
