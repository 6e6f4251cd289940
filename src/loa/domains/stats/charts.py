"""Bar charts drawn on the server as SVG, for the printed report (a PDF runs no script). Labels are escaped; the
numbers are written in Vietnamese style (1.234,5)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from babel.numbers import format_decimal

WIDTH = 640
BAR_COLOUR = "#1f5fa8"
SECOND_COLOUR = "#e07b00"
TEXT = "#222222"
GRID = "#d0d0d0"
FONT = "font-family=\"DejaVu Sans, Liberation Sans, sans-serif\""


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return format_decimal(round(value, digits), format="#,##0" + ("." + "0" * digits if digits else ""),
                          locale="vi_VN")


def _nice_top(value: float) -> float:
    """A round upper end for the axis (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10.0 * power  # pragma: no cover - the last step always fits


def columns(labels: Sequence[str], values: Sequence[float], *, title: str, second: Sequence[float] | None = None,
            legend: tuple[str, str] | None = None, height: int = 240) -> str:
    """Vertical bars (one series, or two side by side), a label under each and the value above it."""
    count = max(len(values), 1)
    left, right, top, bottom = 56, 12, 34, 40
    plot_width, plot_height = WIDTH - left - right, height - top - bottom
    highest = _nice_top(max([*values, *(second or [])], default=0))
    slot = plot_width / count
    series = 2 if second is not None else 1
    bar = max(2.0, slot * 0.7 / series)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">',
             f'<text x="{left}" y="18" font-size="13" font-weight="bold" fill="{TEXT}" {FONT}>{escape(title)}</text>']
    for step in range(5):
        value = highest * step / 4
        y = top + plot_height - plot_height * step / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" stroke="{GRID}" '
                     'stroke-width="0.5"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 3:.1f}" font-size="9" text-anchor="end" fill="{TEXT}" {FONT}>'
                     f'{escape(number(value, 0 if value == int(value) else 1))}</text>')
    show_every = max(1, count // 16)  # at most ~16 labels under the axis
    for index, label in enumerate(labels):
        x = left + slot * index + (slot - bar * series) / 2
        for offset, (data, colour) in enumerate(((values, BAR_COLOUR), (second or [], SECOND_COLOUR))):
            if offset >= series:
                break
            value = data[index] if index < len(data) else 0
            bar_height = plot_height * (value / highest) if highest else 0
            y = top + plot_height - bar_height
            parts.append(f'<rect x="{x + offset * bar:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                         f'height="{bar_height:.1f}" fill="{colour}"/>')
            if count <= 16 and series == 1:
                parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" font-size="8" text-anchor="middle" '
                             f'fill="{TEXT}" {FONT}>{escape(number(value))}</text>')
        if index % show_every == 0:
            parts.append(f'<text x="{left + slot * index + slot / 2:.1f}" y="{top + plot_height + 14}" '
                         f'font-size="9" text-anchor="middle" fill="{TEXT}" {FONT}>{escape(label)}</text>')
    if legend is not None and second is not None:
        y = height - 8
        for offset, (name, colour) in enumerate(zip(legend, (BAR_COLOUR, SECOND_COLOUR), strict=True)):
            x = left + offset * 220
            parts.append(f'<rect x="{x}" y="{y - 8}" width="10" height="10" fill="{colour}"/>')
            parts.append(f'<text x="{x + 14}" y="{y + 1}" font-size="9" fill="{TEXT}" {FONT}>{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars(labels: Sequence[str], values: Sequence[float], *, title: str, unit: str = "", maximum: float | None = None
         ) -> str:
    """Horizontal bars, one line per label (provinces, kinds), the value at the end of each."""
    row = 16
    left, right, top = 190, 70, 28
    height = top + row * len(values) + 8
    highest = maximum if maximum is not None else _nice_top(max(values, default=0))
    plot_width = WIDTH - left - right
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">',
             f'<text x="0" y="16" font-size="13" font-weight="bold" fill="{TEXT}" {FONT}>{escape(title)}</text>']
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + row * index
        width = plot_width * (value / highest) if highest else 0
        parts.append(f'<text x="{left - 6}" y="{y + 11}" font-size="9" text-anchor="end" fill="{TEXT}" {FONT}>'
                     f'{escape(label[:40])}</text>')
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{width:.1f}" height="{row - 5}" fill="{BAR_COLOUR}"/>')
        parts.append(f'<text x="{left + width + 4:.1f}" y="{y + 11}" font-size="9" fill="{TEXT}" {FONT}>'
                     f'{escape(number(value, 1 if unit == "%" else 0))}{escape(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)
