"""Usage bars and chart bars written in Python: Billing draws one usage bar per customer and
limit and one rectangle and table row per day and chart, and as template includes and loops
they cost more than the rest of the page (docs/PERFORMANCE.md, the console under load)."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import floatformat
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from billing.charts import BarChart

register = template.Library()

_LEVEL_NOTE = {"full": " · limit reached", "warning": " · over 80%"}
_DAY_NOTE = {"full": " · at the limit", "warning": " · over 80%"}


@register.simple_tag
def usage_bar(usage: object) -> SafeString:
    """One limit's meter: ``usage`` has ``level``, ``used``, ``limit``, ``label``, ``percent``."""
    level, used, limit = usage.level, usage.used, usage.limit  # type: ignore[attr-defined]
    return format_html(
        '<div class="usage usage-{}" title="{} of {}">\n'
        '  <div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="{}" '
        'aria-valuenow="{}" aria-label="{} used"><span style="width:{}%"></span></div>\n'
        "  <small>{} / {}{}</small>\n</div>",
        level,
        used,
        limit,
        limit,
        used,
        usage.label,  # type: ignore[attr-defined]
        usage.percent,  # type: ignore[attr-defined]
        floatformat(used, "0g"),
        floatformat(limit, "0g"),
        _LEVEL_NOTE.get(level, ""),
    )


@register.simple_tag
def chart_bars(chart: BarChart) -> SafeString:
    """The chart's ``<rect>`` elements, each with its day and value as a tooltip."""
    return format_html_join(
        "",
        '<rect class="bar-{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect>',
        ((bar.level, *bar.svg, bar.day_label, bar.value_label) for bar in chart.bars),
    )


@register.simple_tag
def chart_rows(chart: BarChart) -> SafeString:
    """The chart's numbers as table rows, one per day."""
    return format_html_join(
        "",
        '<tr class="level-{}"><td>{}</td><td class="count" data-value="{}">{}{}</td></tr>',
        (
            (bar.level, bar.day_label, bar.value, bar.value_label, _DAY_NOTE.get(bar.level, ""))
            for bar in chart.bars
        ),
    )
