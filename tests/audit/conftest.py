from tests.records.conftest import alerts  # noqa: F401  (the records' fixtures: an incident with alerts)
