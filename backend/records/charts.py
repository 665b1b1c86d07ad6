"""Small bar charts drawn by the server as SVG, for the reports page.

No script and no style attribute (the admin's Content-Security-Policy allows neither inline
script nor inline style): sizes and colours are SVG presentation attributes, which the policy
does not restrict. Text is drawn in `currentColor`, so a chart follows the admin's light or dark
theme. Each chart is an image with a title and a description for screen readers, and each bar has
its own title (shown on hover); the page puts the same figures in a table next to it.
"""

from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

BAR_COLOUR = "#417690"  # the admin's own blue; readable on its light and dark backgrounds
WIDTH = 720
COLUMN_HEIGHT = 220
LABEL_SPACE = 44
TOP_SPACE = 22
BAR_ROW_HEIGHT = 18
NAME_SPACE = 170
VALUE_SPACE = 60


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str  # the value as the page writes it, e.g. "1,234" or "4:05"


def column_chart(chart_id: str, title: str, description: str, bars: list[Bar], *, label_every: int = 1) -> SafeString:
    """Vertical bars, left to right (e.g. one per month). Every `label_every`th bar is labelled
    underneath; every bar has its label and value in its title."""
    top = max((bar.value for bar in bars), default=0) or 1
    slot = (WIDTH - 8) / max(len(bars), 1)
    bar_width = min(max(slot * 0.8, 1), 48)
    shapes = []
    for index, bar in enumerate(bars):
        height = COLUMN_HEIGHT * max(bar.value, 0) / top
        x = 4 + index * slot + (slot - bar_width) / 2
        y = TOP_SPACE + COLUMN_HEIGHT - height
        shapes.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
                _n(x),
                _n(y),
                _n(bar_width),
                _n(height),
                BAR_COLOUR,
                bar.label,
                bar.shown,
            )
        )
        if index % label_every == 0:
            shapes.append(
                format_html(
                    '<text x="{}" y="{}" font-size="11" text-anchor="middle" fill="currentColor">{}</text>',
                    _n(x + bar_width / 2),
                    _n(TOP_SPACE + COLUMN_HEIGHT + 16),
                    bar.label,
                )
            )
    height = TOP_SPACE + COLUMN_HEIGHT + LABEL_SPACE
    axis = format_html(
        '<line x1="0" y1="{y}" x2="{w}" y2="{y}" stroke="currentColor" stroke-width="1"/>'
        '<text x="0" y="14" font-size="11" fill="currentColor">highest: {top}</text>',
        y=_n(TOP_SPACE + COLUMN_HEIGHT),
        w=WIDTH,
        top=_shown_top(bars),
    )
    return _svg(chart_id, title, description, height, axis + _joined(shapes))


def line_chart(
    chart_id: str, title: str, description: str, points: list[Bar | None], *, label_every: int = 1
) -> SafeString:
    """A trend, left to right (e.g. a median per month): a line through the points, each with its
    label and value in its title; a month with no value (None) breaks the line."""
    values = [point.value for point in points if point is not None]
    top = max(values, default=0) or 1
    slot = (WIDTH - 8) / max(len(points), 1)
    shapes, run = [], []

    def end_run():
        if len(run) > 1:
            shapes.append(
                format_html(
                    '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>',
                    " ".join(f"{_n(x)},{_n(y)}" for x, y in run),
                    BAR_COLOUR,
                )
            )
        run.clear()

    for index, point in enumerate(points):
        x = 4 + index * slot + slot / 2
        if point is None:
            end_run()
            continue
        y = TOP_SPACE + COLUMN_HEIGHT - COLUMN_HEIGHT * max(point.value, 0) / top
        run.append((x, y))
        shapes.append(
            format_html(
                '<circle cx="{}" cy="{}" r="3.5" fill="{}"><title>{}: {}</title></circle>',
                _n(x),
                _n(y),
                BAR_COLOUR,
                point.label,
                point.shown,
            )
        )
    end_run()
    labels = [
        format_html(
            '<text x="{}" y="{}" font-size="11" text-anchor="middle" fill="currentColor">{}</text>',
            _n(4 + index * slot + slot / 2),
            _n(TOP_SPACE + COLUMN_HEIGHT + 16),
            point.label,
        )
        for index, point in enumerate(points)
        if point is not None and index % label_every == 0
    ]
    height = TOP_SPACE + COLUMN_HEIGHT + LABEL_SPACE
    shown = [point for point in points if point is not None]
    axis = format_html(
        '<line x1="0" y1="{y}" x2="{w}" y2="{y}" stroke="currentColor" stroke-width="1"/>'
        '<text x="0" y="14" font-size="11" fill="currentColor">highest: {top}</text>',
        y=_n(TOP_SPACE + COLUMN_HEIGHT),
        w=WIDTH,
        top=_shown_top(shown),
    )
    # The line is drawn under the points, so that each point's title shows on hover.
    lines = [shape for shape in shapes if "polyline" in shape]
    dots = [shape for shape in shapes if "polyline" not in shape]
    return _svg(chart_id, title, description, height, axis + _joined(lines + dots + labels))


def bar_chart(chart_id: str, title: str, description: str, bars: list[Bar]) -> SafeString:
    """Horizontal bars, top to bottom (e.g. one per station), each named on the left and with
    its value written on the right."""
    top = max((bar.value for bar in bars), default=0) or 1
    room = WIDTH - NAME_SPACE - VALUE_SPACE
    shapes = []
    for index, bar in enumerate(bars):
        y = 4 + index * BAR_ROW_HEIGHT
        length = room * max(bar.value, 0) / top
        shapes.append(
            format_html(
                '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="currentColor">{}</text>'
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>'
                '<text x="{}" y="{}" font-size="11" fill="currentColor">{}</text>',
                NAME_SPACE - 6,
                _n(y + 12),
                _shortened(bar.label),
                NAME_SPACE,
                _n(y + 2),
                _n(length),
                BAR_ROW_HEIGHT - 4,
                BAR_COLOUR,
                bar.label,
                bar.shown,
                _n(NAME_SPACE + length + 4),
                _n(y + 12),
                bar.shown,
            )
        )
    height = 8 + len(bars) * BAR_ROW_HEIGHT
    return _svg(chart_id, title, description, height, _joined(shapes))


def _svg(chart_id: str, title: str, description: str, height: float, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="report-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%"'
        ' preserveAspectRatio="xMinYMin meet" role="img" aria-labelledby="{id}-title {id}-desc" focusable="false">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{body}</svg>',
        w=WIDTH,
        h=_n(height),
        id=chart_id,
        title=title,
        desc=description,
        body=body,
    )


def _joined(shapes: list[SafeString]) -> SafeString:
    return format_html_join("", "{}", ((shape,) for shape in shapes))


def describe(bars: list[Bar], what: str) -> str:
    """A sentence for screen readers: how many bars, the highest and the lowest."""
    if not bars:
        return f"No {what} in this period."
    highest = max(bars, key=lambda bar: bar.value)
    lowest = min(bars, key=lambda bar: bar.value)
    return (
        f"{len(bars)} bars of {what}. Highest: {highest.label}, {highest.shown}. "
        f"Lowest: {lowest.label}, {lowest.shown}. The table after the chart gives every figure."
    )


def _shown_top(bars: list[Bar]) -> str:
    return max(bars, key=lambda bar: bar.value).shown if bars else "0"


def _shortened(label: str, limit: int = 26) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _n(value: float) -> str:
    """A coordinate with at most one decimal."""
    return f"{value:.1f}".rstrip("0").rstrip(".")
