"""Months as the reports count them: local months (settings.TIME_ZONE), numbered so consecutive
months are consecutive numbers, and the rule for when a month's figures are settled enough to keep.
"""

import datetime

from django.utils import timezone

# After this long past a month's end, nothing about its incidents changes in the normal run of
# things (alerts are answered within hours and forms lock after RECORDS_LOCK_HOURS, 72 h): only a
# coordinator's amendment or a late answer does, and each of those marks the month as changed
# (backend.records.summaries.note_changed_incidents).
SETTLED_AFTER = datetime.timedelta(days=7)
# The reports keep a month's figures only a day later than changes start being marked: a change
# made while the month was not yet settled has long committed by then.
KEPT_AFTER = SETTLED_AFTER + datetime.timedelta(days=1)


def month_number(month: datetime.date) -> int:
    """Months counted from year 0, so that consecutive months are consecutive numbers."""
    return month.year * 12 + month.month - 1


def month_of_number(number: int) -> datetime.date:
    return datetime.date(number // 12, number % 12 + 1, 1)


def start_of(day: datetime.date) -> datetime.datetime:
    """The first moment of a local day."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def months_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """The first day of every month from first's month to last's month."""
    return [month_of_number(n) for n in range(month_number(first), month_number(last) + 1)]


def month_of_moment(moment: datetime.datetime) -> int:
    """The number of the local month a moment falls in."""
    return month_number(timezone.localtime(moment).date())


def end_of_month(number: int) -> datetime.datetime:
    """The first moment of the next month."""
    return start_of(month_of_number(number + 1))


def is_settled(number: int, now: datetime.datetime, after: datetime.timedelta = SETTLED_AFTER) -> bool:
    return end_of_month(number) + after <= now
