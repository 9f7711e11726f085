"""Bar geometry of the daily usage charts (``billing.charts``): pure Python, no database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from billing.charts import (
    BAR_WIDTH,
    MIN_VISIBLE_HEIGHT,
    SLOT_WIDTH,
    VIEWBOX_HEIGHT,
    bar_chart,
    nice_ceiling,
    usage_level,
)

START = date(2026, 11, 1)


def _days(n: int) -> list[date]:
    return [START + timedelta(days=offset) for offset in range(n)]


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [(0, 1), (1, 1), (3, 5), (7, 10), (10, 10), (11, 20), (150, 200), (999, 1000), (2001, 5000)],
)
def test_the_scale_is_a_round_number_at_or_above_the_value(value: int, ceiling: int) -> None:
    assert nice_ceiling(value) == ceiling


def test_bars_are_proportional_and_stand_on_the_baseline() -> None:
    chart = bar_chart(days=_days(4), values=[0, 50, 100, 25])
    assert chart.scale_max == 100
    assert [bar.height for bar in chart.bars] == [0, 50, 100, 25]
    for bar in chart.bars:
        assert bar.y + bar.height == VIEWBOX_HEIGHT
        assert bar.width == BAR_WIDTH
    assert [bar.x for bar in chart.bars] == [1, 11, 21, 31]
    assert chart.width == 4 * SLOT_WIDTH and chart.height == VIEWBOX_HEIGHT


def test_one_slot_per_day_for_90_days_in_order() -> None:
    days = _days(90)
    chart = bar_chart(days=days, values=list(range(90)))
    assert [bar.day for bar in chart.bars] == days
    assert chart.width == 900
    assert chart.bars[-1].x + chart.bars[-1].width <= chart.width
    assert (chart.first_day, chart.last_day) == (days[0], days[-1])


def test_a_small_day_next_to_a_huge_one_stays_visible() -> None:
    chart = bar_chart(days=_days(2), values=[1, 1_000_000])
    assert chart.bars[0].height == MIN_VISIBLE_HEIGHT
    assert chart.bars[1].height == VIEWBOX_HEIGHT


def test_a_series_of_zeros_draws_no_bar_and_has_no_peak() -> None:
    chart = bar_chart(days=_days(30), values=[0] * 30)
    assert all(bar.height == 0 for bar in chart.bars)
    assert chart.scale_max == 1 and chart.total == 0 and chart.peak is None


def test_the_limit_line_sits_at_the_limit_and_the_scale_reaches_it() -> None:
    chart = bar_chart(days=_days(3), values=[100, 250, 600], limit=500)
    assert chart.scale_max == 1000
    assert chart.limit_y == VIEWBOX_HEIGHT / 2
    assert [bar.level for bar in chart.bars] == ["ok", "ok", "full"]
    assert chart.days_over_limit == 1
    quiet = bar_chart(days=_days(2), values=[1, 2], limit=500)
    assert quiet.scale_max == 500 and quiet.limit_y == 0


def test_levels_follow_80_and_100_percent_of_the_limit() -> None:
    assert [usage_level(v, 500) for v in (399, 400, 499, 500, 501)] == [
        "ok",
        "warning",
        "warning",
        "full",
        "full",
    ]
    assert usage_level(10**9, None) == "ok"
    assert bar_chart(days=_days(1), values=[5]).limit_y is None


def test_total_and_peak_day() -> None:
    chart = bar_chart(days=_days(3), values=[4, 9, 9])
    assert chart.total == 22
    assert chart.peak is not None and (chart.peak.day, chart.peak.value) == (_days(3)[2], 9)


def test_refuses_a_series_that_does_not_fit_its_days() -> None:
    with pytest.raises(ValueError, match="One value per day"):
        bar_chart(days=_days(2), values=[1])
    with pytest.raises(ValueError, match="never negative"):
        bar_chart(days=_days(1), values=[-1])
