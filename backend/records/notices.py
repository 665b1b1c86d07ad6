"""The coordinators' notice of welfare follow-up requests that are not reaching the welfare leads.

The worker keeps trying to email the welfare leads (backend/records/notify.py) and never drops a
request; but while no welfare lead has an email address, or the mail relay keeps refusing, nobody
responsible knows a firefighter asked for support (hazard H22). Found by a trial: only the
check-in's own page, which coordinators cannot read, said so. So the admin's home and both live
boards say how many are waiting, in these words and nothing of the check-ins: no name, no incident,
nothing of how anyone feels. The link to them is given only to those who may read welfare
check-ins (records/access.py, may_read_welfare); to anyone else their pages do not exist.

A context processor (settings.TEMPLATES), so that the dispatch app's board pages, below the
records in the layers, show it without importing it; worked out only when a page shows it, once.
An open board hears of it on its socket too (backend/sockets/consumers.py, above the records): in
the snapshot, and a `board.welfare` frame when it changes (found by a trial: a board open before a
request stopped getting through never said so). It is a count and a reason, as here: no reading of
a check-in, so not audited as one.
"""

import functools
from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse

from backend.records import access, notify

# The welfare check-ins' list filter that shows the requests not getting through (records/admin.py).
UNDELIVERED_PARAMETER = "welfare_emails"
UNDELIVERED_VALUE = "undelivered"
BOARD_PERMISSION = "accounts.view_board"


@dataclass(frozen=True)
class WelfareNotice:
    count: int
    no_address: bool
    url: str  # the list of them, for those who may read welfare check-ins; "" for anyone else

    @property
    def headline(self) -> str:
        requests = "request" if self.count == 1 else "requests"
        return f"{self.count} welfare follow-up {requests} not reaching the welfare leads."

    @property
    def detail(self) -> str:
        why = (
            "No active welfare lead has an email address: give one an address."
            if self.no_address
            else "Emailing the welfare leads keeps failing (the mail relay)."
        )
        if self.url:
            return why
        return f"{why} Only a welfare lead may read them: tell one."

    def payload(self) -> dict:
        """As the boards' socket sends it (backend/schemas/welfare_notice.schema.json): the words
        this page would show, and the link only for one who may follow it."""
        return {"count": self.count, "headline": self.headline, "detail": self.detail, "url": self.url}


def welfare_notice_for(user) -> WelfareNotice | None:
    """The notice for this user, or None: shown to coordinators (those who watch the board) and to
    welfare leads, while any request is not getting through."""
    if not getattr(user, "is_authenticated", False):
        return None
    reader = access.may_read_welfare(user)
    if not reader and not user.has_perm(BOARD_PERMISSION):
        return None
    count = notify.undelivered_welfare_requests().count()
    if not count:
        return None
    url = ""
    if reader:
        url = (
            reverse("admin:records_welfarecheckin_changelist")
            + "?"
            + urlencode({UNDELIVERED_PARAMETER: UNDELIVERED_VALUE})
        )
    return WelfareNotice(count=count, no_address=not notify.welfare_lead_addresses(), url=url)


def welfare_notice_payload(user) -> dict | None:
    """The notice for this user as the boards' socket sends it, or None (nothing to say)."""
    notice = welfare_notice_for(user)
    return notice.payload() if notice else None


def welfare_notice(request) -> dict:
    """The context processor: `welfare_notice`, called (once) only by a page that shows it."""
    return {"welfare_notice": functools.cache(lambda: welfare_notice_for(getattr(request, "user", None)))}
