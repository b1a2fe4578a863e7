"""Time constants shared by every layer, and the calendar of the model's clock.

The model's clock runs in days from the start of the scenario's first month; its months are all
:data:`MONTH_DAYS` long (a twelfth of a Julian year), so that month ``m`` covers the days
``[m * MONTH_DAYS, (m + 1) * MONTH_DAYS)``. A calendar date is placed at the same fraction of its
model month as of its calendar month: the 15th of March (31 days) at 14/31 of the model's March.
Month starts fall exactly on the reporting months' boundaries, and dates keep their order.
"""

from __future__ import annotations

import calendar
import re

import numpy as np

#: Days in a year (Julian year: leap years on average).
DAYS_PER_YEAR = 365.25
#: Length of a reporting month in days (a twelfth of a year).
MONTH_DAYS = DAYS_PER_YEAR / 12

#: A month ``YYYY-MM`` or a date ``YYYY-MM-DD`` (the pattern of the configuration schemas).
WHEN_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?$"
#: A date ``YYYY-MM-DD``.
DATE_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
#: A day of the year ``MM-DD`` (e.g. the opening of a winter plan).
DAY_OF_YEAR_PATTERN = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


def parse_when(text: str) -> tuple[int, int, int | None]:
    """``(year, month, day)`` of ``YYYY-MM`` (day None) or ``YYYY-MM-DD``; ValueError if malformed
    or not a real date (``2027-02-30``)."""
    text = str(text)
    if not re.match(WHEN_PATTERN, text):
        raise ValueError(f"{text!r} is not a month YYYY-MM or a date YYYY-MM-DD")
    year, month = int(text[:4]), int(text[5:7])
    if len(text) == 7:
        return year, month, None
    day = int(text[8:10])
    if day > calendar.monthrange(year, month)[1]:
        raise ValueError(f"{text!r} is not a date: {calendar.month_name[month]} {year} has {calendar.monthrange(year, month)[1]} days")
    return year, month, day


def _months_from(year: int, month: int, start: np.datetime64) -> int:
    return int((np.datetime64(f"{year:04d}-{month:02d}", "M") - np.datetime64(start, "M")).astype(int))


def day_of(text: str, start: np.datetime64) -> float:
    """Model time (days from the start of month ``start``) at the start of a month or a day."""
    year, month, day = parse_when(text)
    offset = _months_from(year, month, start)
    if day is None:
        return offset * MONTH_DAYS
    return (offset + (day - 1) / calendar.monthrange(year, month)[1]) * MONTH_DAYS


def end_of(text: str, start: np.datetime64) -> float:
    """Model time at the end of a month (the start of the next) or of a day (the start of the next)."""
    year, month, day = parse_when(text)
    if day is None:
        return (_months_from(year, month, start) + 1) * MONTH_DAYS
    return day_of(str(np.datetime64(text, "D") + np.timedelta64(1, "D")), start)


def months_through(text: str, start: np.datetime64) -> int:
    """Months of a run from month ``start`` to the end of month ``text`` (``YYYY-MM``), both included."""
    year, month, _ = parse_when(text)
    return _months_from(year, month, start) + 1
