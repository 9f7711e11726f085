"""Bar geometry for the daily usage charts (Billing, a customer's Limits tab).

Pure Python, no Django: ``bar_chart`` turns one daily series into rectangles in a
``VIEWBOX_HEIGHT``-tall coordinate space that ``templates/includes/usage_chart.html`` draws as
server-rendered SVG. The SVG stretches to its box (``preserveAspectRatio="none"``), so the axis
labels live in HTML around it and stay readable at any width; the numbers themselves are in the
template's table for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

SLOT_WIDTH = 10  # viewBox units per day
BAR_WIDTH = 8  # the rest of the slot is the gap between two bars
VIEWBOX_HEIGHT = 100
# A day with some usage is never drawn flatter than this (in viewBox units), so it stays visible
# next to a day in the millions.
MIN_VISIBLE_HEIGHT = 1.0
WARN_AT = 0.8


@dataclass(frozen=True)
class Bar:
    day: date
    value: int
    x: float
    y: float
    width: float
    height: float
    level: str  # "ok", "warning" (from 80 % of the limit), "full" (at or over the limit)

    # What the template writes, formatted once here: a page draws hundreds of bars, and a
    # template filter per number would cost more than the rest of the page.
    @property
    def svg(self) -> tuple[str, str, str, str]:
        """x, y, width and height as SVG attribute values."""
        return (f"{self.x:g}", f"{self.y:g}", f"{self.width:g}", f"{self.height:g}")

    @property
    def day_label(self) -> str:
        return self.day.isoformat()

    @property
    def value_label(self) -> str:
        return f"{self.value:,}"


@dataclass(frozen=True)
class BarChart:
    bars: tuple[Bar, ...]
    width: int  # viewBox width
    height: int  # viewBox height
    scale_max: int  # the value the top of the chart stands for
    limit: int | None
    limit_y: float | None  # where the limit line is drawn (None: no limit)

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)

    @property
    def peak(self) -> Bar | None:
        """The busiest day (the latest of equal ones), or ``None`` for a series of zeros."""
        busiest = max(self.bars, key=lambda bar: (bar.value, bar.day), default=None)
        return busiest if busiest is not None and busiest.value > 0 else None

    @property
    def first_day(self) -> date | None:
        return self.bars[0].day if self.bars else None

    @property
    def last_day(self) -> date | None:
        return self.bars[-1].day if self.bars else None

    @property
    def days_over_limit(self) -> int:
        return sum(1 for bar in self.bars if bar.level == "full")


def nice_ceiling(value: float) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above ``value`` (1 for nothing), for a round scale."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return int(step * magnitude)
    raise AssertionError("unreachable: 10 × magnitude is always >= value")


def usage_level(value: int, limit: int | None) -> str:
    if not limit:
        return "ok"
    if value >= limit:
        return "full"
    if value >= WARN_AT * limit:
        return "warning"
    return "ok"


def bar_chart(*, days: Sequence[date], values: Sequence[int], limit: int | None = None) -> BarChart:
    """One bar per day, scaled so the busiest day (or the limit, when higher) fits."""
    if len(days) != len(values):
        raise ValueError("One value per day is needed.")
    if any(value < 0 for value in values):
        raise ValueError("Usage is never negative.")
    scale_max = nice_ceiling(max([*values, limit or 0, 1]))
    bars = []
    for index, (day, value) in enumerate(zip(days, values, strict=True)):
        height = VIEWBOX_HEIGHT * value / scale_max
        if value > 0:
            height = max(height, MIN_VISIBLE_HEIGHT)
        bars.append(
            Bar(
                day=day,
                value=value,
                x=index * SLOT_WIDTH + (SLOT_WIDTH - BAR_WIDTH) / 2,
                y=VIEWBOX_HEIGHT - height,
                width=BAR_WIDTH,
                height=height,
                level=usage_level(value, limit),
            )
        )
    limit_y = VIEWBOX_HEIGHT * (1 - limit / scale_max) if limit else None
    return BarChart(
        bars=tuple(bars),
        width=max(1, len(bars)) * SLOT_WIDTH,
        height=VIEWBOX_HEIGHT,
        scale_max=scale_max,
        limit=limit,
        limit_y=limit_y,
    )
