"""Every file path that the code, the docs or the tests name (in a comment, a docstring, a table)
exists: after a module moves, a comment that still sends a newcomer to its old place fails here."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NAMED_PATH = re.compile(
    r"(?<![\w/.])((?:backend|pwa|tests|docs|bench)/[\w/.\-]+?\.(?:py|mjs|json|js|md|html|css))(?![\w])"
)
# Paths named as examples of something that is not there.
NOT_FILES = {"tests/js/name.test.mjs"}


def _files():
    for pattern in ("backend/**/*.py", "backend/**/*.js", "pwa/**/*.js", "docs/*.md", "tests/**/*.py", "bench/*.py"):
        for path in ROOT.glob(pattern):
            if "node_modules" not in path.parts and "migrations" not in path.parts:
                yield path
    yield ROOT / "README.md"


def test_every_path_named_in_the_code_and_the_docs_exists():
    missing = {
        f"{named} (named in {path.relative_to(ROOT)})"
        for path in _files()
        for named in NAMED_PATH.findall(path.read_text())
        if named not in NOT_FILES and not (ROOT / named).exists()
    }
    assert not missing, sorted(missing)


@pytest.mark.parametrize("text", ["see backend/dispatch/actions.py.", "(backend/schemas/alert.schema.json)"])
def test_it_finds_a_named_path(text):
    assert NAMED_PATH.findall(text) and all((ROOT / named).exists() for named in NAMED_PATH.findall(text))
