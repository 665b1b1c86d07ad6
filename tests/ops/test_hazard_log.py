"""The hazard log (docs/hazard-log.md) cites tests as the evidence for its controls. A cited test
that is renamed or removed would leave a control without evidence while the log still claims it:
every citation must name a test that exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HAZARD_LOG = ROOT / "docs" / "hazard-log.md"

PYTEST_CITATION = re.compile(r"(tests/[\w/]+\.py)::(\w+)")
# `tests/js/name.test.mjs` ("title", "title"): Node test titles, quoted after the file.
NODE_CITATION = re.compile(r"`(tests/js/[\w.-]+\.test\.mjs)`\s*\(((?:\"[^\"]+\",?\s*)+)\)")
HAZARD_HEADING = re.compile(r"^#{2,4} (H\d{2})\b", re.MULTILINE)


def test_every_cited_pytest_test_exists():
    citations = set(PYTEST_CITATION.findall(HAZARD_LOG.read_text()))
    assert len(citations) >= 50, "the hazard log should cite the tests that evidence its controls"
    missing = [
        f"{path}::{name}"
        for path, name in sorted(citations)
        if not (ROOT / path).exists() or not re.search(rf"^\s*(async )?def {name}\b", (ROOT / path).read_text(), re.M)
    ]
    assert missing == [], "cited in docs/hazard-log.md but not found:\n" + "\n".join(missing)


def test_every_cited_node_test_exists():
    citations = NODE_CITATION.findall(HAZARD_LOG.read_text())
    assert citations, "the hazard log should cite the app's unit tests too"
    missing = []
    for path, titles in citations:
        source = (ROOT / path).read_text() if (ROOT / path).exists() else ""
        missing += [f"{path}: {title}" for title in re.findall(r"\"([^\"]+)\"", titles) if title not in source]
    assert missing == [], "cited in docs/hazard-log.md but not found:\n" + "\n".join(missing)


def test_the_log_has_at_least_twelve_hazards():
    assert len(set(HAZARD_HEADING.findall(HAZARD_LOG.read_text()))) >= 12
