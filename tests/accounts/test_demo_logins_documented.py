"""The demo logins that `make run` prints and the README lists are the usernames the demo data
really creates: station codes are hyphenated (ff.great-yarmouth.1), which a pattern such as
ff.<station>.<n> hid."""

import io
import re
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
FIREFIGHTER_USERNAME = re.compile(r"\bff\.[a-z-]+\.\d+\b")


def test_the_readme_and_make_run_name_the_firefighters_the_demo_data_creates(db, settings):
    # The demo's passwords are hashed as the product does (0.2 s each) for nothing this test reads.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("load_demo_data", stdout=io.StringIO())
    created = set(get_user_model().objects.filter(username__startswith="ff.").values_list("username", flat=True))
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()

    assert set(FIREFIGHTER_USERNAME.findall(makefile)) == created
    in_readme = set(FIREFIGHTER_USERNAME.findall(readme))
    assert in_readme <= created
    assert {name for name in created if name.endswith(".1")} <= in_readme, "each station's crew lead"
    assert "ff.<station>" not in readme + makefile
