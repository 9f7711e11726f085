"""Cron expressions of schedule triggers (SPEC §11 "Triggers"), read in UTC.

Five fields — minute, hour, day of month, month, day of week — in the syntax of Celery's
``crontab`` (``*``, lists, ranges, ``*/n`` steps, and names such as ``mon-fri``; day of week
0–6 with Sunday 0). A minute matches when every field does (Celery's reading: a day of month and
a day of week must both hold). ``dataplane.schedule_tasks`` asks, each minute, which deployed
versions have a schedule that matches it.
"""

from __future__ import annotations

from datetime import datetime

from celery.schedules import ParseException, crontab

FIELDS = ("minute", "hour", "day of month", "month", "day of week")


def parse_cron(expression: str) -> crontab:
    """The ``crontab`` of a five-field expression; a ``ValueError`` says what is wrong."""
    parts = expression.split()
    if len(parts) != len(FIELDS):
        raise ValueError(
            f"a cron expression has {len(FIELDS)} fields ({', '.join(FIELDS)}), "
            f'e.g. "*/15 * * * *"; this one has {len(parts)}.'
        )
    minute, hour, day_of_month, month_of_year, day_of_week = parts
    try:
        return crontab(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
        )
    except (ValueError, ParseException) as wrong:
        raise ValueError(f"{expression!r} does not parse: {wrong}") from None


def cron_matches(expression: str, moment: datetime) -> bool:
    """Whether the minute of ``moment`` (UTC) is one the expression names."""
    schedule = parse_cron(expression)
    return (
        moment.minute in schedule.minute
        and moment.hour in schedule.hour
        and moment.day in schedule.day_of_month
        and moment.month in schedule.month_of_year
        and moment.isoweekday() % 7 in schedule.day_of_week
    )
