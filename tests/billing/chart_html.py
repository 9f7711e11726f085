"""Read the numbers a page shows in its usage charts (``templates/includes/usage_chart.html``)."""

from __future__ import annotations

import re
from datetime import date

_ROW = re.compile(r'<td>(\d{4}-\d{2}-\d{2})</td><td class="count" data-value="([\d,]+)">')
_RECT = re.compile(r"<rect class=\"bar-(\w+)\"[^>]*><title>(\d{4}-\d{2}-\d{2}): ([\d,]+)</title>")


def chart_html(body: str, chart_id: str) -> str:
    """The ``<figure>`` of chart ``chart_id`` (e.g. ``org-events_per_day``)."""
    start = body.index(f'<figure class="usage-chart" aria-labelledby="{chart_id}-title">')
    return body[start : body.index("</figure>", start)]


def chart_numbers(body: str, chart_id: str) -> dict[date, int]:
    """Day -> the number the chart's table shows, checked against the bars' own labels."""
    figure = chart_html(body, chart_id)
    table = {
        date.fromisoformat(day): int(value.replace(",", "")) for day, value in _ROW.findall(figure)
    }
    bars = {
        date.fromisoformat(day): int(value.replace(",", ""))
        for _, day, value in _RECT.findall(figure)
    }
    assert bars == table, "the bars and the table disagree"
    return table


def chart_levels(body: str, chart_id: str) -> dict[date, str]:
    return {
        date.fromisoformat(day): level
        for level, day, _ in _RECT.findall(chart_html(body, chart_id))
    }
