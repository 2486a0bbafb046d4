"""Charts as inline SVG, drawn in Python: no JavaScript, the same picture in the browser and the PDF.

Each chart scales to its container (viewBox, width 100 %), so it reads on a phone. Labels are
escaped: area and site names come from the inventory, which anyone with a spreadsheet writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

WIDTH = 400  # user units; a phone shows the chart at about this width, so 12-unit text stays readable
FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _svg(height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
            f'aria-label="{escape(title)}" preserveAspectRatio="xMinYMin meet"><title>{escape(title)}</title>'
            + "".join(body) + "</svg>")


def availability_trend(points: Sequence[tuple[str, float | None]], title: str, percent: Callable[[float], str]) -> str:
    """Daily availability as a line; days nothing was known leave a gap in it."""
    height, left, right, top, bottom = 220, 56, 10, 12, 30
    known = [v for _, v in points if v is not None]
    if not points or not known:
        return _svg(60, [f'<text x="8" y="36" {FONT} font-size="14">–</text>'], title)
    low = min(known)
    span = next((s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5) if 1.0 - s <= low), 1.0)  # ticks at round percents
    floor = 1.0 - span
    plot_w, plot_h = WIDTH - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + (plot_w * i / (len(points) - 1) if len(points) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1.0 - (v - floor) / span)

    body = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#f7f7f7" stroke="#ccc"/>']
    for step in range(6):
        value = floor + span * step / 5
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#ddd"/>')
        body.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" {FONT} font-size="11">{escape(percent(value))}</text>')
    segments: list[list[str]] = [[]]
    for i, (_, known_value) in enumerate(points):
        if known_value is None:
            segments.append([])
        else:
            segments[-1].append(f"{x(i):.1f},{y(known_value):.1f}")
    for segment in segments:
        if len(segment) > 1:
            body.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{COLOURS[0]}" stroke-width="2"/>')
        for point in segment:
            px, py = point.split(",")
            body.append(f'<circle cx="{px}" cy="{py}" r="2.5" fill="{COLOURS[0]}"/>')
    every = max(1, len(points) // 5)
    for i, (label, _) in enumerate(points):
        if i % every == 0 or i == len(points) - 1:
            anchor = "end" if i == len(points) - 1 and len(points) > 1 else "middle"
            body.append(f'<text x="{x(i):.1f}" y="{height - 12}" text-anchor="{anchor}" {FONT} font-size="11">{escape(label)}</text>')
    return _svg(height, body, title)


def bars(items: Sequence[tuple[str, float]], title: str, value_text: Callable[[float], str], colour: str = COLOURS[0]) -> str:
    """Horizontal bars, largest first as given; the label above each bar so long names fit a phone."""
    if not items:
        return _svg(40, [f'<text x="8" y="26" {FONT} font-size="14">–</text>'], title)
    row, left, right = 38, 8, 8
    largest = max(v for _, v in items) or 1.0
    body = []
    for i, (label, value) in enumerate(items):
        top = i * row + 4
        width = max(1.0, (WIDTH - left - right - 120) * value / largest) if value else 0.0
        body.append(f'<text x="{left}" y="{top + 12}" {FONT} font-size="12">{escape(label)}</text>')
        body.append(f'<rect x="{left}" y="{top + 17}" width="{width:.1f}" height="14" fill="{colour}"/>')
        body.append(f'<text x="{left + width + 6:.1f}" y="{top + 29}" {FONT} font-size="12">{escape(value_text(value))}</text>')
    return _svg(len(items) * row + 8, body, title)
