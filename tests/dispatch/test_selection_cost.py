"""What the selection builds in Python (issue 17 item 2): the eligible responders in range can be
hundreds, of whom at most `max_total` are alerted. Ranking and capping them work on plain rows; a
Candidate is built only for each one chosen (a dataclass for every row in range, and a Candidate
for each, were most of the CAD call's selection in Python: about 0.55 ms of it for 400 in range)."""

import datetime

import pytest

from backend.dispatch import selection
from backend.dispatch.selection import select_responders
from tests.conftest import NORWICH_INCIDENT, make_firefighter

TODAY = datetime.date(2026, 11, 25)


@pytest.fixture
def candidates_built(monkeypatch):
    built = []

    class CountedCandidate(selection.Candidate):
        def __init__(self, *args, **kwargs):
            built.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(selection, "Candidate", CountedCandidate)
    return built


def test_only_those_chosen_become_candidates(stations, candidates_built):
    for number in range(12):
        make_firefighter(f"n{number:02}", stations["norwich"])
    for number in range(6):
        make_firefighter(f"y{number:02}", stations["yarmouth"])
    chosen = select_responders(
        latitude=NORWICH_INCIDENT[0],
        longitude=NORWICH_INCIDENT[1],
        today=TODAY,
        radius_km=40,
        max_per_station=3,
        max_total=5,
    ).candidates
    # Nearest station first, capped at 3 from it, then the next station's, in id order.
    assert [candidate.responder.user.username for candidate in chosen] == ["n00", "n01", "n02", "y00", "y01"]
    assert len(candidates_built) == 5  # 18 in range: 23 were built before (one per row, one per chosen)
